// Package emulator is a local emulator of Signicat's Assure API for the
// PictureID direct-upload flow, served as an http.Handler (in-process with
// httptest, or standalone with `batch emulator`).
//
// It serves the OAuth2 token endpoint (client_credentials, HTTP Basic),
// checks HS256 bearer tokens on every /assure call, and implements dossiers,
// processes, images, start verification, get process, document types,
// download, delete and the process list with the real paths, status codes
// and JSON shapes (assure package types). A process is pending until
// started, processing for a latency drawn from a log-normal distribution,
// then final; the final status follows docs/outcome-rules.md: specimen data
// embedded in the images (internal/specimen) decides it, other images get a
// deterministic outcome from a hash of their bytes. Nothing runs in the
// background: statuses are computed from the emulated clock when read.
//
// One time scale shrinks every delay; faults (latency, 5xx, 429, connection
// resets before or after the handler, truncated bodies) and a global rate
// limit are configurable per endpoint with a seed. Admin endpoints under
// /_emulator/ reset state and report counters. docs/emulator.md documents
// the configuration and every choice the real API's documentation left open.
package emulator
