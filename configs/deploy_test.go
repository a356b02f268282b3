package configs_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/config"
)

// The deploy/ files cannot be exercised here (no Docker, no AWS); these
// tests keep them consistent with the configuration they ship.

type jobDefinition struct {
	Timeout struct {
		AttemptDurationSeconds int `json:"attemptDurationSeconds"`
	} `json:"timeout"`
	RetryStrategy struct {
		Attempts       int `json:"attempts"`
		EvaluateOnExit []struct {
			OnExitCode     string `json:"onExitCode"`
			OnReason       string `json:"onReason"`
			OnStatusReason string `json:"onStatusReason"`
			Action         string `json:"action"`
		} `json:"evaluateOnExit"`
	} `json:"retryStrategy"`
	ContainerProperties struct {
		Command     []string `json:"command"`
		Environment []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"environment"`
		Secrets []struct {
			Name      string `json:"name"`
			ValueFrom string `json:"valueFrom"`
		} `json:"secrets"`
	} `json:"containerProperties"`
}

func readJobDefinition(t *testing.T) jobDefinition {
	t.Helper()
	b, err := os.ReadFile("../deploy/aws-batch-job-definition.json")
	require.NoError(t, err)
	var jd jobDefinition
	require.NoError(t, json.Unmarshal(b, &jd))
	return jd
}

// action returns what AWS Batch does for a failed attempt with exit code:
// the first entry whose onExitCode glob matches decides; no match retries.
func (jd jobDefinition) action(code string) string {
	for _, e := range jd.RetryStrategy.EvaluateOnExit {
		if e.OnReason != "" || e.OnStatusReason != "" {
			continue // conditions on reasons do not match a plain exit
		}
		p := e.OnExitCode
		if p == code || (strings.HasSuffix(p, "*") && strings.HasPrefix(code, strings.TrimSuffix(p, "*"))) {
			return strings.ToUpper(e.Action)
		}
	}
	return "RETRY"
}

func TestJobDefinitionRetriesOnlyResumableExits(t *testing.T) {
	jd := readJobDefinition(t)
	assert.GreaterOrEqual(t, jd.RetryStrategy.Attempts, 2)
	assert.LessOrEqual(t, jd.RetryStrategy.Attempts, 10)
	assert.LessOrEqual(t, len(jd.RetryStrategy.EvaluateOnExit), 5)
	for code, want := range map[string]string{"1": "RETRY", "5": "RETRY", "2": "EXIT", "3": "EXIT", "4": "EXIT", "137": "EXIT", "15": "EXIT"} {
		assert.Equal(t, want, jd.action(code), "exit code %s", code)
	}
}

func TestJobDefinitionMatchesAWSBatchYAML(t *testing.T) {
	jd := readJobDefinition(t)
	assert.Equal(t, []string{"run", "--config", "/config/aws-batch.yaml"}, jd.ContainerProperties.Command)

	var names []string
	for _, s := range jd.ContainerProperties.Secrets {
		names = append(names, s.Name)
		assert.Regexp(t, `^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+:[a-z_]+::$`, s.ValueFrom)
	}
	assert.ElementsMatch(t, []string{config.EnvClientID, config.EnvClientSecret}, names)

	// The environment is accepted (no unknown REVERIFY_* variable) and the
	// result validates, as a child of a 10-way array job would see it.
	env := []string{config.EnvBatchArrayIndex + "=9", config.EnvBatchArraySize + "=10", config.EnvBatchJobID + "=job-1:9",
		config.EnvClientID + "=id", config.EnvClientSecret + "=secret"}
	for _, e := range jd.ContainerProperties.Environment {
		assert.True(t, strings.HasPrefix(e.Name, "REVERIFY_"), e.Name)
		env = append(env, e.Name+"="+e.Value)
	}
	yaml, err := os.ReadFile("aws-batch.yaml")
	require.NoError(t, err)
	c, err := config.Load(yaml, env)
	require.NoError(t, err)
	assert.Equal(t, "9/10", c.Run.Shard)

	// The run stops itself (exit 5, retried) before Batch's timeout kills
	// it (never retried): budget + drain + a margin for flushing.
	timeout := time.Duration(jd.Timeout.AttemptDurationSeconds) * time.Second
	require.Positive(t, c.Run.MaxDuration)
	assert.LessOrEqual(t, c.Run.MaxDuration+c.Run.GracePeriod+2*time.Minute, timeout,
		"run.max_duration %s must end well before attemptDurationSeconds %s", c.Run.MaxDuration, timeout)
	// SIGKILL follows SIGTERM after 30 s.
	assert.Less(t, c.Run.GracePeriod, 30*time.Second)
}

func TestDockerfileShipsTheConfig(t *testing.T) {
	b, err := os.ReadFile("../deploy/Dockerfile")
	require.NoError(t, err)
	df := string(b)
	for _, want := range []string{
		"FROM golang:1.26 AS build",
		"CGO_ENABLED=0",
		"./cmd/batch",
		"COPY configs/aws-batch.yaml /config/aws-batch.yaml",
		"USER nonroot",
		`ENTRYPOINT ["/batch"]`,
		`CMD ["run", "--config", "/config/aws-batch.yaml"]`,
	} {
		assert.Contains(t, df, want)
	}
	_, err = os.Stat("../cmd/batch")
	assert.NoError(t, err, "the Dockerfile builds ./cmd/batch")
}

func TestCronExampleEscapesPercent(t *testing.T) {
	b, err := os.ReadFile("../deploy/cron.example")
	require.NoError(t, err)
	unescaped := regexp.MustCompile(`(^|[^\\])%`)
	var jobs int
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "batch run") {
			jobs++
			assert.Contains(t, line, "flock -n")
			assert.Contains(t, line, "--run-id nightly-$(date -u +")
		}
		assert.False(t, unescaped.MatchString(line), "cron turns an unescaped %% into a newline: %s", line)
	}
	assert.Equal(t, 1, jobs)
}
