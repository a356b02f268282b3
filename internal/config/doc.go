// Package config is reverify's configuration: the schema, its defaults, YAML
// decoding, REVERIFY_* environment overrides, dotted-key settings for command
// line flags, secrets, validation and redacted printing.
//
// The effective configuration is built in layers, each overriding the one
// before: Default, then the YAML file, then REVERIFY_* environment variables,
// then explicit settings (the command's flags). Secrets never come from YAML:
// SIGNICAT_CLIENT_ID and SIGNICAT_CLIENT_SECRET (or a file named by
// SIGNICAT_CLIENT_SECRET_FILE or api.client_secret_file) fill them. Load does
// all of it and validates the result; every problem is reported at once, one
// per line, each line starting with the dotted name of the field.
//
// docs/configuration.md documents every key.
package config
