-- reverify's output as an Athena (Trino) table, partitioned by run and shard
-- with partition projection: no crawler, no MSCK REPAIR, a new run is
-- queryable as soon as its parts are written. Replace s3://bucket/out with the
-- output root given to `batch run`. Every file other than a part starts with
-- "_" (or is below journal/ or dossiers/, which hold no .parquet), and Athena
-- treats "_" names as hidden.
--
-- Queries name the run (the projection of an injected key needs it):
--   SELECT outcome, count(*) FROM reverify_outcomes
--   WHERE run = 'nightly-2026-11-27' GROUP BY 1;
-- The shard keys are projected over 1..256 shards; a query of one run reads
-- only the shard folders that exist.
--
-- tests/e2e checks the columns and their types against a real part's schema
-- and the location template against the output layout (TestAthenaDDLMatchesTheSchema).
-- Not run against Athena in this repository.
CREATE EXTERNAL TABLE reverify_outcomes (
  run_id string, shard int, shard_count int, record_id string, external_reference string,
  origin string, front_uri string, back_uri string, selfie_uri string, front_sha256 string,
  back_sha256 string, selfie_sha256 string, document_id int, process_type string,
  dossier_id string, process_id string, outcome string, reason string,
  status_reasons array<struct<type:string,category:string,sub_category:string,message:string>>,
  skip_reasons array<string>, fail_reason string, error_code string, error_message string,
  first_name string, last_name string, date_of_birth date, date_of_expiry date, date_of_issue date,
  gender string, nationality string, document_type string, document_number string,
  issuing_country string, personal_identification_number string, similarity_score string,
  date_of_birth_hmac string,
  check_not_tampered_document boolean, check_non_expired boolean, check_not_underage boolean,
  check_not_black_and_white boolean, check_data_integrity boolean, check_sides_match boolean,
  check_not_face_spoofing boolean, check_selfie_and_document_match boolean,
  failed_checks array<string>, selfie_similarity_level string, selfie_status string, previous_outcome string,
  outcome_changed boolean, api_calls int, retries int, polls int, submitted_at timestamp,
  completed_at timestamp, duration_ms bigint, recorded_at timestamp, dry_run boolean,
  result_zip_uri string, metadata map<string,string>, result_json string
)
PARTITIONED BY (run string, shard_no int, shards int)
STORED AS PARQUET
LOCATION 's3://bucket/out/runs/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.run.type' = 'injected',
  'projection.shard_no.type' = 'integer',
  'projection.shard_no.range' = '0,255',
  'projection.shards.type' = 'integer',
  'projection.shards.range' = '1,256',
  'storage.location.template' = 's3://bucket/out/runs/${run}/shard-${shard_no}-of-${shards}/'
);
