-- deploy-coordinator schema. Times are integer milliseconds since the Unix epoch (UTC).

-- One row per configured environment, created on first use: the last verified release and the lock.
CREATE TABLE environments (
  name               TEXT PRIMARY KEY,
  verified_sha       TEXT,
  verified_at        INTEGER,
  verified_deploy_id TEXT,
  locked             INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
  lock_reason        TEXT,
  lock_actor         TEXT,
  locked_at          INTEGER,
  updated_at         INTEGER NOT NULL
);

-- One row per deploy request that passed authentication and validation.
CREATE TABLE deploys (
  id                    TEXT PRIMARY KEY,
  environment           TEXT NOT NULL,
  sha                   TEXT NOT NULL,
  previous_sha          TEXT,
  status                TEXT NOT NULL CHECK (status IN ('queued','deploying','verifying','rolling_back',
                          'succeeded','failed','rolled_back','rollback_failed','superseded','cancelled')),
  trigger_source        TEXT NOT NULL CHECK (trigger_source IN ('ci','webhook','slack','api','rollback')),
  trigger_actor         TEXT NOT NULL,
  -- (environment, sha, run_id, run_attempt) for CI and webhook requests: the same run asking twice
  -- gets the same deploy.
  idempotency_key       TEXT UNIQUE,
  run_id                TEXT,
  run_attempt           TEXT,
  ref                   TEXT,
  reason                TEXT,
  -- rollout bookkeeping (written by the rollout engine)
  status_changed_at     INTEGER NOT NULL,
  agent_operation_id    TEXT,
  agent_requested_at    INTEGER,
  agent_accepted_at     INTEGER,
  converged_at          INTEGER,
  rollback_sha          TEXT,
  rollback_operation_id TEXT,
  rollback_requested_at INTEGER,
  rollback_converged_at INTEGER,
  probes_total          INTEGER NOT NULL DEFAULT 0,
  probes_failed         INTEGER NOT NULL DEFAULT 0,
  first_failure_at      INTEGER,
  first_failure         TEXT,
  version_confirmed_at  INTEGER,
  rollback_probes_total INTEGER NOT NULL DEFAULT 0,
  rollback_probes_failed INTEGER NOT NULL DEFAULT 0,
  rollback_first_failure_at INTEGER,
  rollback_first_failure TEXT,
  rollback_version_confirmed_at INTEGER,
  github_deployment_id  INTEGER,
  notify_url            TEXT,   -- Slack response_url of the request, if any
  notify_count          INTEGER NOT NULL DEFAULT 0,  -- follow-ups sent to notify_url (Slack allows 5)
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  finished_at           INTEGER
);
CREATE INDEX deploys_by_environment ON deploys (environment, created_at DESC);
CREATE INDEX deploys_by_created ON deploys (created_at DESC);
-- The database itself refuses a second rollout in flight, or a second queued request, per environment:
-- the coordinator serializes, these indexes make a bug there loud instead of a double deploy.
CREATE UNIQUE INDEX deploys_one_in_flight ON deploys (environment)
  WHERE status IN ('deploying','verifying','rolling_back');
CREATE UNIQUE INDEX deploys_one_queued ON deploys (environment) WHERE status = 'queued';

-- Append-only audit trail: one row per transition (kind 'transition') and per notable moment of a
-- rollout that is not a status change (kind 'mark': agent accepted, converged, first failure, ...).
CREATE TABLE deploy_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  deploy_id   TEXT NOT NULL REFERENCES deploys (id),
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL DEFAULT 'transition' CHECK (kind IN ('transition','mark')),
  from_status TEXT,
  to_status   TEXT NOT NULL,
  reason      TEXT,
  actor       TEXT,
  data        TEXT
);
CREATE INDEX deploy_events_by_deploy ON deploy_events (deploy_id, id);

-- Every probe sample. phase is the deploy's status when the probe was sent; 'rolling_back'
-- samples belong to the rollback, the others to the forward rollout.
CREATE TABLE probe_samples (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  deploy_id   TEXT NOT NULL REFERENCES deploys (id),
  phase       TEXT NOT NULL CHECK (phase IN ('deploying','verifying','rolling_back')),
  url         TEXT NOT NULL,
  at          INTEGER NOT NULL,
  latency_ms  INTEGER NOT NULL,
  status      INTEGER,
  outcome     TEXT NOT NULL CHECK (outcome IN ('ok','bad_status','error','timeout')),
  version     TEXT,
  error       TEXT,
  counted     INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1))
);
CREATE INDEX probe_samples_by_deploy ON probe_samples (deploy_id, at);

-- Replay protection: OIDC token ids seen (kept until the token expires).
CREATE TABLE seen_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX seen_tokens_by_expiry ON seen_tokens (expires_at);

-- Deliveries seen: GitHub X-GitHub-Delivery ids and Slack trigger_ids (kept an hour or more).
CREATE TABLE seen_deliveries (
  source      TEXT NOT NULL CHECK (source IN ('github','slack')),
  delivery_id TEXT NOT NULL,
  deploy_id   TEXT,
  seen_at     INTEGER NOT NULL,
  PRIMARY KEY (source, delivery_id)
);
CREATE INDEX seen_deliveries_by_time ON seen_deliveries (seen_at);
