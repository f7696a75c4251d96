-- Reasons as data (issue 11): next to the human `reason`, the rule that decided a verdict or
-- refusal, the phase it tripped in and its numbers, as JSON: {"rule": "max_failed_probes",
-- "phase": "verifying", "failed": 3, "limit": 0}. NULL on rows written before this column and on
-- verdicts that name no rule (succeeded). Public text is rendered from this, never from `reason`.
ALTER TABLE deploys ADD COLUMN reason_data TEXT;
