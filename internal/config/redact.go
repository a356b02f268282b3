package config

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Redacted renders the configuration as YAML for --print-config. The
// secrets are never rendered: the client id and secret appear as comments
// in the api section, as <redacted> when set and <unset> when not. Being
// comments, they keep the output loadable: it can be saved and used as a
// configuration file, giving the same configuration.
func (c Config) Redacted() ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	prettyDurations(&root)
	root.HeadComment = "# Effective reverify configuration (defaults < YAML < REVERIFY_* < flags).\n# Secrets are redacted."
	api := mappingValue(&root, "api")
	if api == nil || len(api.Content) == 0 {
		return nil, fmt.Errorf("render configuration: no api section")
	}
	api.Content[0].HeadComment = fmt.Sprintf("# client_id: %s (%s)\n# client_secret: %s (%s, %s or api.client_secret_file)",
		redact(c.API.ClientID), EnvClientID, redact(c.API.ClientSecret), EnvClientSecret, EnvClientSecretFile)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	return buf.Bytes(), nil
}

func redact(secret string) string {
	if secret == "" {
		return "<unset>"
	}
	return "<redacted>"
}

// mappingValue returns the value node of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// prettyDurations rewrites the duration values of the rendered tree in their
// shortest form (2m instead of 2m0s); ParseDuration reads both.
func prettyDurations(root *yaml.Node) {
	for _, l := range newSchema().leaves {
		if l.typ != durationType {
			continue
		}
		n := root
		for _, part := range strings.Split(l.key, ".") {
			if n = mappingValue(n, part); n == nil {
				break
			}
		}
		if n == nil {
			continue
		}
		if d, err := time.ParseDuration(n.Value); err == nil {
			n.Value = FormatDuration(d)
		}
	}
}

// FormatDuration renders d like time.Duration.String without zero trailing
// units: 2m, 1h30m, 250ms, 0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
