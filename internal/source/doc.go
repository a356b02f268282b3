// Package source reads archives of identity-document images: it lists the
// records of an archive (an S3 prefix or a local folder, described by its
// folder layout or by a CSV / JSON Lines manifest), fetches their images
// with a size cap, and runs the preflight checks that decide, before any
// paid API call, whether a record can be verified at all.
//
// Open checks the configuration and that the archive can be read; Records
// streams the records in order; Load fetches and checks one record's images.
// Every reason to skip a record is a Problem with a stable code; errors are
// kept for infrastructure failures and say, through package fault, whether
// to retry (ErrRetry) or stop (ErrAbort). The package does not log. docs/archives.md describes the
// layouts, the manifest formats and every problem code.
package source
