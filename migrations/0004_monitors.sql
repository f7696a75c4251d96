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
  -- confirming (handed to the coordinator) → tripped · trusted (tripped without confirming) · unconfirmed
  outcome     TEXT NOT NULL,
  UNIQUE (monitor_id, environment, dedupe_key)
);
CREATE INDEX monitor_alerts_by_deploy ON monitor_alerts (deploy_id) WHERE deploy_id IS NOT NULL;
CREATE INDEX monitor_alerts_by_received ON monitor_alerts (received_at);
