package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

const envPrefix = "REVERIFY_"

// Environment variables read besides REVERIFY_*.
const (
	EnvClientID         = "SIGNICAT_CLIENT_ID"
	EnvClientSecret     = "SIGNICAT_CLIENT_SECRET"
	EnvClientSecretFile = "SIGNICAT_CLIENT_SECRET_FILE"
	// EnvHashKeyFile names the HMAC key file of output.personal_data: hash,
	// overriding output.hash_key_file. Not a key's variable, though it has
	// the prefix.
	EnvHashKeyFile     = "REVERIFY_HASH_KEY_FILE"
	EnvBatchArrayIndex = "AWS_BATCH_JOB_ARRAY_INDEX"
	EnvBatchArraySize  = "AWS_BATCH_JOB_ARRAY_SIZE"
	EnvBatchJobID      = "AWS_BATCH_JOB_ID"
)

// environ is an environment as a map. Like os.Getenv, the first of
// duplicate entries wins.
type environ map[string]string

func parseEnviron(list []string) environ {
	env := make(environ, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := env[k]; !dup {
			env[k] = v
		}
	}
	return env
}

// envAliases are the names a person guesses for the most used keys, read
// like the real ones (REVERIFY_RUN_ID is what the AWS Batch example sets).
// Both a name and its alias set to different values is an error.
var envAliases = map[string]string{
	"REVERIFY_RUN_ID": "run.run_id",
}

// reservedEnv reports REVERIFY_* variables that belong to the tests and
// scripts, not to the configuration.
func reservedEnv(name string) bool {
	switch name {
	case "REVERIFY_CACHE", "REVERIFY_REQUIRE_S3", "REVERIFY_VERSITYGW", "REVERIFY_REQUIRE_PUSHGATEWAY", "REVERIFY_PUSHGATEWAY":
		return true
	}
	return strings.HasPrefix(name, "REVERIFY_TEST_")
}

// applyEnv applies every REVERIFY_* variable of env over c, in name order.
// A variable naming no key is an error (a typo must not be silently
// ignored); an empty variable is ignored, as if unset.
func (c *Config) applyEnv(env environ) Errors {
	s := newSchema()
	byEnv := make(map[string]string, len(s.leaves))
	names := make([]string, 0, len(s.leaves))
	for _, l := range s.leaves {
		byEnv[EnvName(l.key)] = l.key
		names = append(names, EnvName(l.key))
	}
	var vars []string
	for name := range env {
		if strings.HasPrefix(name, envPrefix) && !reservedEnv(name) && name != EnvHashKeyFile {
			vars = append(vars, name)
		}
	}
	sort.Strings(vars)
	var errs Errors
	for _, name := range vars {
		key, ok := byEnv[name]
		if alias, isAlias := envAliases[name]; isAlias && !ok {
			key, ok = alias, true
			if real := env[EnvName(alias)]; real != "" && env[name] != "" && real != env[name] {
				errs.add(alias, fmt.Sprintf("%s=%q and %s=%q disagree: set one", name, env[name], EnvName(alias), real))
				continue
			}
		}
		if !ok {
			errs.add(name, unknownEnvMsg(name, names))
			continue
		}
		if env[name] == "" {
			continue
		}
		if err := c.Set(key, env[name]); err != nil {
			errs.add(key, fmt.Sprintf("%s: %s", name, fieldMsg(err)))
		}
	}
	return errs
}

func unknownEnvMsg(name string, known []string) string {
	for _, key := range []string{"api.client_secret", "api.client_id", "output.hash_key", "source.s3.access_key_id",
		"source.s3.secret_access_key", "output.s3.access_key_id", "output.s3.secret_access_key"} {
		if EnvName(key) == name {
			return "not a configuration variable: " + refusedKey(key)
		}
	}
	if name == EnvName("api.retry.max_retry_after") {
		return "unknown variable: " + refusedKey("api.retry.max_retry_after") + " (" + EnvName("api.retry.max_pause") + ")"
	}
	if best := closestOf(name, known); best != "" {
		return fmt.Sprintf("unknown variable: no configuration key has this name (did you mean %s?)", best)
	}
	// REVERIFY_RUN_ID for REVERIFY_RUN_RUN_ID, REVERIFY_RATE for REVERIFY_API_RATE.
	var ends []string
	for _, k := range known {
		if strings.HasSuffix(k, "_"+strings.TrimPrefix(name, envPrefix)) {
			ends = append(ends, k)
		}
	}
	if len(ends) > 0 {
		return fmt.Sprintf("unknown variable: no configuration key has this name (did you mean %s?)", strings.Join(ends, " or "))
	}
	return "unknown variable: no configuration key has this name (REVERIFY_ + the dotted key upper-cased, dots as underscores: REVERIFY_API_RATE)"
}

// fieldMsg returns the message of a FieldError without its field name.
func fieldMsg(err error) string {
	var fe FieldError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}
