-- Monitor alerts (issue 13): every authenticated, parsed alert delivery, one row per environment
-- the monitor watches. A redelivery (same monitor, environment and provider dedupe key) is not a
-- new row, so an alert is counted once however often the provider retries it.
CREATE TABLE monitor_alerts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  monitor_id  TEXT NOT NULL,
  provider    TEXT NOT NULL,
  environment TEXT NOT NULL,
  dedupe_key  TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('down','up','other')),
  check_name  TEXT NOT NULL,
  detail      TEXT,
  started_at  INTEGER,              -- when the provider says the failure began (ms), if it says
  received_at INTEGER NOT NULL,
  deploy_id   TEXT,                 -- the rollout in flight when it arrived, if any
  -- what it did: recovery · not_a_vote · no_rollout · before_deploy (started before that rollout) ·
  -- confirming (handed to the coordinator) → tripped · trusted (tripped without confirming) · unconfirmed ·
  -- not_counted (the rollout ended meanwhile, or a rollback not yet converged)
  outcome     TEXT NOT NULL,
  UNIQUE (monitor_id, environment, dedupe_key)
);
CREATE INDEX monitor_alerts_by_deploy ON monitor_alerts (deploy_id) WHERE deploy_id IS NOT NULL;
CREATE INDEX monitor_alerts_by_received ON monitor_alerts (received_at);

-- The bake window (issue 13): the `baking` status and the bake's own counters. SQLite cannot
-- change a CHECK constraint in place, so `status` (and probe_samples.phase) are swapped for a new
-- column with the widened CHECK: rename, add, copy, drop. Unlike a table rebuild this keeps every
-- column other migrations add (0002, 0003, 0005) without naming them. The indexes that read the
-- status are dropped first and recreated (IF NOT EXISTS / IF EXISTS: 0003's may or may not be there).
DROP INDEX IF EXISTS deploys_one_in_flight;
DROP INDEX IF EXISTS deploys_one_queued;
DROP INDEX IF EXISTS deploys_by_status_environment;
DROP INDEX IF EXISTS deploys_verdicts_by_environment;
ALTER TABLE deploys RENAME COLUMN status TO status_before_bake;
ALTER TABLE deploys ADD COLUMN status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','deploying','verifying','baking','rolling_back',
  'succeeded','failed','rolled_back','rollback_failed','superseded','cancelled'));
UPDATE deploys SET status = status_before_bake;
ALTER TABLE deploys DROP COLUMN status_before_bake;
CREATE UNIQUE INDEX deploys_one_in_flight ON deploys (environment)
  WHERE status IN ('deploying','verifying','baking','rolling_back');
CREATE UNIQUE INDEX deploys_one_queued ON deploys (environment) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS deploys_by_status_environment ON deploys (status, environment);
CREATE INDEX IF NOT EXISTS deploys_verdicts_by_environment ON deploys (environment, finished_at DESC, created_at DESC)
  WHERE status IN ('succeeded','failed','rolled_back','rollback_failed');

ALTER TABLE deploys ADD COLUMN bake_started_at INTEGER;
ALTER TABLE deploys ADD COLUMN bake_ends_at INTEGER;
ALTER TABLE deploys ADD COLUMN bake_probes_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deploys ADD COLUMN bake_probes_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deploys ADD COLUMN bake_first_failure_at INTEGER;
ALTER TABLE deploys ADD COLUMN bake_first_failure TEXT;
ALTER TABLE deploys ADD COLUMN bake_version_confirmed_at INTEGER;

ALTER TABLE probe_samples RENAME COLUMN phase TO phase_before_bake;
ALTER TABLE probe_samples ADD COLUMN phase TEXT NOT NULL DEFAULT 'verifying' CHECK (phase IN ('deploying','verifying','baking','rolling_back'));
UPDATE probe_samples SET phase = phase_before_bake;
ALTER TABLE probe_samples DROP COLUMN phase_before_bake;
