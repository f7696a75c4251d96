-- Hygiene (issue 12): every recurring query on an index, sessions that can be revoked, and the
-- per-deploy probe summary that stands in for samples older than RETENTION_DAYS.

-- The watchdog's "which environments have work" (every minute) and every "the active deploy of
-- this environment" read. Keyed by status rather than partial on a status list, so a status added
-- later (baking) is covered without a new index.
CREATE INDEX deploys_by_status_environment ON deploys (status, environment);

-- The last verdict of an environment (/v1/status, /badge.svg, the index page): newest finished
-- first, so LIMIT 1 reads one row instead of every verdict the environment ever had. The verdict
-- set is closed (DESIGN: terminal statuses of a rollout that ran); queries name it literally.
CREATE INDEX deploys_verdicts_by_environment ON deploys (environment, finished_at DESC, created_at DESC)
  WHERE status IN ('succeeded','failed','rolled_back','rollback_failed');

-- Retention: finished deploys oldest first, to find those whose samples are past RETENTION_DAYS.
CREATE INDEX deploys_by_finished ON deploys (finished_at) WHERE finished_at IS NOT NULL;

-- Logged-out page sessions, refused until they would have expired anyway (then pruned).
CREATE TABLE revoked_sessions (
  sid        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);

-- What the deploy page needs from a deploy's probe samples once they are reduced (samples older
-- than RETENTION_DAYS): the counts and time extents per phase, and the timeline's buckets as the
-- page lays them out (JSON: one array per (url, bucket), the columns sampleBuckets() reads). The
-- failed samples the page lists (the first 50) are kept in probe_samples.
CREATE TABLE probe_summaries (
  deploy_id   TEXT PRIMARY KEY REFERENCES deploys (id),
  total       INTEGER NOT NULL,
  failed      INTEGER NOT NULL,
  first_at    INTEGER,
  last_at     INTEGER,
  rollout_from  INTEGER,
  rollout_to    INTEGER,
  rollback_from INTEGER,
  rollback_to   INTEGER,
  -- {from, to, bucketMs, bucketCount, rows}: the layout and sampleBuckets()'s rows under it
  buckets     TEXT NOT NULL,
  reduced_at  INTEGER NOT NULL
);
