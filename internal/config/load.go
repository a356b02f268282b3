package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Setting is one dotted-key setting applied over the environment: how the
// command passes its flags to Load.
type Setting struct {
	Key   string // dotted key: run.shard
	Value string // text form, parsed as Set parses it
	// Source optionally names where the setting came from (a flag such as
	// "--shard") for error messages.
	Source string
}

// Load builds the effective configuration and validates it. The layers,
// each overriding the one before: the defaults, yamlBytes (nil or empty for
// none), the REVERIFY_* variables of environ, then settings in order (the
// command's flags). Then the secrets are read (SIGNICAT_CLIENT_ID,
// SIGNICAT_CLIENT_SECRET, SIGNICAT_CLIENT_SECRET_FILE or
// api.client_secret_file; under output.personal_data: hash, the HMAC key from
// REVERIFY_HASH_KEY_FILE or output.hash_key_file) and the run id and shard
// derived when empty (see docs/configuration.md).
//
// environ is in os.Environ form ("NAME=value"); it is the only source of
// environment variables (Load never calls os.Getenv), and it is a list
// rather than a lookup function so that unknown REVERIFY_* variables can be
// reported. On failure the error is an Errors listing every problem, one
// per line, each starting with the dotted field name.
func Load(yamlBytes []byte, environ []string, settings ...Setting) (Config, error) {
	return load(yamlBytes, parseEnviron(environ), time.Now(), settings)
}

// LoadFile is Load with the YAML read from path.
func LoadFile(path string, environ []string, settings ...Setting) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, Errors{{Field: "config", Msg: err.Error()}}
	}
	return Load(b, environ, settings...)
}

func load(yamlBytes []byte, env environ, now time.Time, settings []Setting) (Config, error) {
	c := defaults()
	errs := c.applyYAML(yamlBytes)
	errs = append(errs, c.applyEnv(env)...)
	for _, s := range settings {
		if err := c.Set(s.Key, s.Value); err != nil {
			msg := fieldMsg(err)
			if s.Source != "" {
				msg = s.Source + ": " + msg
			}
			errs.add(s.Key, msg)
		}
	}
	secretErrs := c.loadSecrets(env)
	errs = append(errs, secretErrs...)
	errs = append(errs, c.derive(env, now)...)
	if verr, ok := c.Validate().(Errors); ok {
		for _, fe := range verr {
			if fe.Field == "api.client_secret" && len(secretErrs) > 0 {
				continue // already explained by the secret file's error
			}
			if !errs.has(fe.Field) {
				errs = append(errs, fe)
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, errs
	}
	return c, nil
}

// derive fills run.run_id and run.shard when no layer set them.
//
// run.run_id: "batch-<job id>" inside AWS Batch (AWS_BATCH_JOB_ID without
// the ":index" of array children, so every child and every retry of one
// job shares it and a retry resumes), else run-YYYYMMDDTHHMMSSZ from now.
//
// run.shard: "K/N" from AWS_BATCH_JOB_ARRAY_INDEX (K) and run.shard_count
// (N), else "0/1". When AWS_BATCH_JOB_ARRAY_SIZE is set too, N must match
// it: a shard_count left at 1 takes the array size, another value that
// differs is an error (children disagreeing on N would skip or repeat
// records).
func (c *Config) derive(env environ, now time.Time) Errors {
	var errs Errors
	if c.Run.RunID == "" {
		if id := env[EnvBatchJobID]; id != "" {
			parent, _, _ := strings.Cut(id, ":")
			c.Run.RunID = "batch-" + parent
		} else {
			c.Run.RunID = NewRunID(now)
		}
	}
	if c.Run.Shard != "" {
		return errs
	}
	idx, ok := env[EnvBatchArrayIndex]
	if !ok || idx == "" {
		c.Run.Shard = "0/1"
		return errs
	}
	k, err := strconv.Atoi(idx)
	if err != nil || k < 0 {
		errs.add("run.shard", fmt.Sprintf("%s=%q is not a shard index", EnvBatchArrayIndex, idx))
		return errs
	}
	n := c.Run.ShardCount
	if size := env[EnvBatchArraySize]; size != "" {
		sz, err := strconv.Atoi(size)
		switch {
		case err != nil || sz < 1:
			errs.add("run.shard_count", fmt.Sprintf("%s=%q is not an array size", EnvBatchArraySize, size))
			return errs
		case n == 1:
			n = sz
			c.Run.ShardCount = sz
		case n != sz:
			errs.add("run.shard_count", fmt.Sprintf("is %d but the array job has %s=%d children: every child must use the same N; set run.shard_count to %d (or leave it at 1 to follow the array size)", n, EnvBatchArraySize, sz, sz))
			return errs
		}
	}
	c.Run.Shard = fmt.Sprintf("%d/%d", k, n)
	return errs
}

// has reports whether e holds a problem for field.
func (e Errors) has(field string) bool {
	for _, fe := range e {
		if fe.Field == field {
			return true
		}
	}
	return false
}
