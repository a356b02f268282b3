package config

import (
	"fmt"
	"os"
	"strings"

	"reverify/internal/privacy"
)

// loadSecrets fills the client id and secret from the environment or the
// secret file. SIGNICAT_CLIENT_SECRET_FILE, when set, overrides
// api.client_secret_file. Setting both a secret and a secret file is an
// error: the user must not wonder which one is used. Then the HMAC key of
// output.personal_data: hash (loadHashKey).
func (c *Config) loadSecrets(env environ) Errors {
	var errs Errors
	c.API.ClientID = strings.TrimSpace(env[EnvClientID])
	if f := env[EnvClientSecretFile]; f != "" {
		c.API.ClientSecretFile = f
	}
	secret := strings.TrimSpace(env[EnvClientSecret])
	file := c.API.ClientSecretFile
	switch {
	case secret != "" && file != "":
		errs.add("api.client_secret_file", fmt.Sprintf("%s is set too; give the secret one way only (the variable or the file %q)", EnvClientSecret, file))
	case secret != "":
		c.API.ClientSecret = secret
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			errs.add("api.client_secret_file", fmt.Sprintf("cannot read the client secret: %v", err))
			break
		}
		c.API.ClientSecret = strings.TrimSpace(string(b))
		if c.API.ClientSecret == "" {
			errs.add("api.client_secret_file", fmt.Sprintf("%q is empty", file))
		}
	}
	errs = append(errs, c.loadHashKey(env)...)
	return errs
}

// loadHashKey reads the HMAC key of output.personal_data: hash from the file
// named by REVERIFY_HASH_KEY_FILE, which overrides output.hash_key_file
// (privacy.ReadKeyFile: surrounding whitespace trimmed, at least
// privacy.MinKeyBytes). Under the other policies the file is not read. No
// file at all is left to Validate to report.
func (c *Config) loadHashKey(env environ) Errors {
	var errs Errors
	from := "output.hash_key_file"
	if f := env[EnvHashKeyFile]; f != "" {
		c.Output.HashKeyFile, from = f, EnvHashKeyFile
	}
	if c.Output.PersonalData != privacy.Hash || c.Output.HashKeyFile == "" {
		return errs
	}
	key, err := privacy.ReadKeyFile(c.Output.HashKeyFile)
	if err != nil {
		errs.add("output.hash_key_file", fmt.Sprintf("cannot read the HMAC key of output.personal_data: hash (the file named by %s): %v", from, err))
		return errs
	}
	c.Output.HashKey = key
	return errs
}
