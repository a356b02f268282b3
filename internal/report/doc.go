// Package report is reverify's output: one Parquet row per record per run
// (Row), the part writer that streams rows to a local folder or an S3 prefix
// (Writer), run summaries (Summary, _summary.json, the human table) and reading
// earlier output back (Read, Summarize, CommittedRecords).
//
// # Layout
//
// Everything lives below an output root (a blob.Store):
//
//	<out>/runs/<run_id>/shard-<K>-of-<N>/part-<seq>-<attempt>.parquet
//	<out>/runs/<run_id>/shard-<K>-of-<N>/_summary.json
//
// seq is a zero-padded counter of the parts of one attempt (00000, 00001, …)
// and attempt is a unique id of the writing process (UTC start time plus
// random hex), so a resumed run — same run id, new process — never overwrites
// a part committed by an earlier attempt. The layout is not hive-style
// (no run_id=… folders) so that query engines do not add a second run_id
// column: every fact is in the rows. One glob, `<out>/**/*.parquet`, reads
// every run. Files that are not parts start with '_' (the shard summary) or
// '.' (temporary files), which Hive-style readers such as Athena skip.
//
// A part appears only when complete: the Writer streams it through
// blob.Store.Create (temporary file + rename locally, a multipart upload
// completed at Close on S3) and never writes an empty part.
//
// The package writes personal data into Parquet (that is its purpose) and
// never logs it: errors name URIs, keys and counts, never row values.
//
// The column reference is docs/reports.md.
package report
