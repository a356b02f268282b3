-- reverify's DuckDB query pack: aggregates an analyst starts from.
-- Run from the folder that holds the output (./out after `make run`):
--   duckdb -c ".read docs/sql/duckdb.sql"
-- or paste one statement. Every statement reads 'out/**/*.parquet' (every run,
-- one glob); add `WHERE run_id = '...'` for one run. No statement returns a
-- personal value: ids, codes and counts only. tests/e2e runs each one on a
-- real output (TestSQLPackRuns).

-- 1. Outcomes by run and process type, with shares.
SELECT run_id, process_type, outcome, count(*) AS records,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY run_id, process_type), 1) AS pct
FROM read_parquet('out/**/*.parquet')
GROUP BY run_id, process_type, outcome ORDER BY run_id, process_type, records DESC;

-- 2. Outcomes by document id (the document types of the archive).
SELECT document_id, outcome, count(*) AS records
FROM read_parquet('out/**/*.parquet')
GROUP BY ALL ORDER BY document_id, records DESC;

-- 3. Then and now: the transition matrix from the previous (onboarding)
--    outcome to the outcome now, with each cell's share of its row.
SELECT lower(trim(previous_outcome)) AS previous, outcome AS now, count(*) AS records,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY lower(trim(previous_outcome))), 1) AS pct_of_previous
FROM read_parquet('out/**/*.parquet')
WHERE previous_outcome IS NOT NULL
GROUP BY previous, now ORDER BY previous, records DESC;

-- 4. Why outcomes changed: the reasons behind each changed cell.
SELECT lower(trim(previous_outcome)) AS previous, outcome AS now, coalesce(nullif(reason, ''), '(no reason)') AS reason,
       count(*) AS records
FROM read_parquet('out/**/*.parquet')
WHERE outcome_changed
GROUP BY ALL ORDER BY records DESC;

-- 5. The records whose outcome changed (ids and codes: batch report --changed).
SELECT run_id, record_id, previous_outcome, outcome, reason
FROM read_parquet('out/**/*.parquet')
WHERE outcome_changed
ORDER BY run_id, record_id;

-- 6. Top reasons per outcome.
SELECT outcome, reason, count(*) AS records
FROM read_parquet('out/**/*.parquet')
WHERE reason <> ''
GROUP BY ALL ORDER BY outcome, records DESC;

-- 7. Failing security checks (failed_checks is never NULL), by outcome.
SELECT outcome, failed_check, count(*) AS records
FROM read_parquet('out/**/*.parquet'), unnest(failed_checks) AS u(failed_check)
GROUP BY ALL ORDER BY records DESC;

-- 8. Records failing any check, by process type.
SELECT process_type, count(*) FILTER (len(failed_checks) > 0) AS failing_any, count(*) AS records
FROM read_parquet('out/**/*.parquet')
WHERE outcome NOT IN ('skipped', 'error')
GROUP BY ALL;

-- 9. Latency percentiles by process type, in seconds: duration_ms is from the
--    record's first API call (create dossier) to its final answer.
SELECT process_type, count(*) AS verified,
       round(quantile_cont(duration_ms, 0.50) / 1000, 2) AS p50_s,
       round(quantile_cont(duration_ms, 0.90) / 1000, 2) AS p90_s,
       round(quantile_cont(duration_ms, 0.99) / 1000, 2) AS p99_s,
       round(max(duration_ms) / 1000, 2) AS max_s
FROM read_parquet('out/**/*.parquet')
WHERE duration_ms IS NOT NULL
GROUP BY ALL;

-- 10. Effort: API calls, retries and polls per record, by outcome.
SELECT outcome, count(*) AS records, round(avg(api_calls), 2) AS calls_per_record,
       round(avg(retries), 3) AS retries_per_record, round(avg(polls), 2) AS polls_per_record
FROM read_parquet('out/**/*.parquet')
GROUP BY ALL ORDER BY records DESC;

-- 11. Cost: verifications, the rows whose process started (an outcome of the
--     API, or a timeout: still processing), at a unit price you set (here 0.50
--     per verification). An error row may have started one too; the API's
--     invoice is the authority.
SET VARIABLE unit_price = 0.50;
SELECT run_id, count(*) FILTER (outcome IN ('accepted', 'rejected', 'inconclusive', 'failed', 'canceled', 'timeout')) AS verifications,
       round(verifications * getvariable('unit_price'), 2) AS cost,
       sum(api_calls) AS api_calls
FROM read_parquet('out/**/*.parquet')
GROUP BY ALL ORDER BY run_id;

-- 12. Outcomes per day of completion (outcomes over time).
SELECT date_trunc('day', completed_at) AS day, outcome, count(*) AS records
FROM read_parquet('out/**/*.parquet')
WHERE completed_at IS NOT NULL
GROUP BY ALL ORDER BY day, records DESC;
