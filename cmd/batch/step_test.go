package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/configs"
	"reverify/internal/config"
	"reverify/internal/pipeline"
)

// The pipeline repeats create dossier, create process and start verification
// (after reading the state back) as often as api.retry.max_attempts says:
// 1 disables retries, as documented; it used to be 3 whatever the setting.
func TestStepPolicyFollowsRetryConfig(t *testing.T) {
	for _, attempts := range []string{"1", "4", "9"} {
		cfg, err := config.Load(configs.Example(), nil,
			config.Setting{Key: "api.retry.max_attempts", Value: attempts},
			config.Setting{Key: "api.retry.base_delay", Value: "100ms"},
			config.Setting{Key: "api.retry.max_delay", Value: "2s"})
		require.NoError(t, err)
		assert.Equal(t, pipeline.StepPolicy{Attempts: cfg.API.Retry.MaxAttempts, BaseDelay: 400 * time.Millisecond,
			MaxDelay: 6 * time.Second}, stepPolicy(cfg), "max_attempts %s", attempts)
	}
}
