-- Probes from several regions (issue 14). Each sample says which probe site took it (region: the
-- location hint of a ProbeSite; NULL = the coordinator itself) and the Cloudflare data centre the
-- probe's answer names (colo, from its cf-ray header; NULL when the target is not behind
-- Cloudflare). Existing rows are the coordinator's own: NULL, NULL.
ALTER TABLE probe_samples ADD COLUMN region TEXT;
ALTER TABLE probe_samples ADD COLUMN colo TEXT;

-- The regions' share of each track's counters, as JSON {"weur": {"total": n, "failed": n}, ...}
-- (NULL: no region probed). probes_total / probes_failed still count every sample, every site.
ALTER TABLE deploys ADD COLUMN probes_regions TEXT;
ALTER TABLE deploys ADD COLUMN rollback_probes_regions TEXT;
ALTER TABLE deploys ADD COLUMN bake_probes_regions TEXT;
