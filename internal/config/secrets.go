package config

import (
	"fmt"
	"os"
	"strings"
)

// loadSecrets fills the client id and secret from the environment or the
// secret file. SIGNICAT_CLIENT_SECRET_FILE, when set, overrides
// api.client_secret_file. Setting both a secret and a secret file is an
// error: the user must not wonder which one is used.
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
	return errs
}
