package configs_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
		"COPY --from=build /out/batch " + binaryPath + "\n",
		`ENTRYPOINT ["` + binaryPath + `"]`,
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

// binaryPath is where reverify's binary is installed, in the image and on a
// server (deploy/README.md, "The binary's name"): never a bare "batch",
// which on Debian and Ubuntu is the at package's /usr/bin/batch.
const binaryPath = "/usr/local/bin/reverify-batch"

// Every deploy/ file that calls the binary calls it by binaryPath, and the
// README says so.
func TestDeployCallsTheBinaryByItsAbsolutePath(t *testing.T) {
	// A command word ending in "batch" followed by one of reverify's
	// subcommands: "batch run", "bin/batch report", "/usr/bin/batch run".
	call := regexp.MustCompile("(?:^|[\\s\"'`=(;&|])([^\\s\"'`=(;&|]*batch) (run|cleanup|report|specimen|emulator|version)\\b")
	calls := 0
	for _, file := range []string{"../deploy/cron.example", "../deploy/Dockerfile", "../deploy/README.md"} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range call.FindAllStringSubmatch(line, -1) {
				calls++
				assert.Equal(t, binaryPath, m[1], "%s:%d calls %q: %s", file, i+1, m[1]+" "+m[2], line)
			}
		}
	}
	assert.GreaterOrEqual(t, calls, 3, "the cron jobs and deploy/README's examples call the binary")

	cron, err := os.ReadFile("../deploy/cron.example")
	require.NoError(t, err)
	// A schedule line, active or commented out: five time fields and a user.
	schedule := regexp.MustCompile(`^#?\s*([0-9*][0-9*,/-]*\s+){5}[a-z_][a-z0-9_-]*\s+\S`)
	var jobs int
	for _, line := range strings.Split(string(cron), "\n") {
		if !schedule.MatchString(line) {
			continue
		}
		jobs++
		assert.Contains(t, line, " "+binaryPath+" run ", "a cron job calls the binary by its absolute path: %s", line)
	}
	assert.Equal(t, 2, jobs, "the nightly job and the optional morning one")

	df, err := os.ReadFile("../deploy/Dockerfile")
	require.NoError(t, err)
	assert.Contains(t, string(df), "COPY --from=build /out/batch "+binaryPath+"\n", "the image installs it there")
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), binaryPath)
}

// dockerignore returns the patterns of a .dockerignore file.
func dockerignore(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var pats []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pats = append(pats, line)
	}
	return pats
}

// ignored reports whether the build context leaves out path (slash
// separated, relative to the context root) under patterns, as Docker does
// for patterns without "!": a pattern matches the path or one of its parent
// folders; "*" stays within a path segment, "**" spans any.
func ignored(t *testing.T, patterns []string, p string) bool {
	t.Helper()
	for _, pat := range patterns {
		require.False(t, strings.HasPrefix(pat, "!"), "exceptions are beyond this check: %s", pat)
		pat = path.Clean(strings.TrimPrefix(pat, "/"))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pat); i++ {
			switch {
			case strings.HasPrefix(pat[i:], "**/"):
				re.WriteString("(?:.*/)?")
				i += 2
			case strings.HasPrefix(pat[i:], "**"):
				re.WriteString(".*")
				i++
			case pat[i] == '*':
				re.WriteString("[^/]*")
			case pat[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(pat[i : i+1]))
			}
		}
		re.WriteString("$")
		rx := regexp.MustCompile(re.String())
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if rx.MatchString(q) {
				return true
			}
		}
	}
	return false
}

// The legacy Docker builder reads only the context root's .dockerignore,
// BuildKit deploy/Dockerfile.dockerignore: both hold the same patterns,
// which leave out the local artifacts and keep everything the build needs.
func TestDockerignoreFilesAgree(t *testing.T) {
	root := dockerignore(t, "../.dockerignore")
	assert.Equal(t, dockerignore(t, "../deploy/Dockerfile.dockerignore"), root)

	for _, p := range []string{".git/HEAD", "bin/batch", "out/runs/r/_summary.json", "archive/rec-000001/front.jpg",
		".cache/reverify/bin/versitygw", "batch.test", "cmd/batch/batch.test", "internal/blob/cpu.prof",
		"tests/e2e/testdata/tmp/x"} {
		assert.True(t, ignored(t, root, p), "%s is left out of the build context", p)
	}

	// What the Dockerfile copies, and every file of the packages it builds.
	need := []string{"go.mod", "go.sum"}
	df, err := os.ReadFile("../deploy/Dockerfile")
	require.NoError(t, err)
	for _, line := range strings.Split(string(df), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "COPY" && !strings.HasPrefix(f[1], "--") && f[1] != "." {
			need = append(need, f[1:len(f)-1]...)
		}
	}
	for _, dir := range []string{"cmd", "internal", "configs"} {
		require.NoError(t, filepath.WalkDir(filepath.Join("..", dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel("..", p)
			need = append(need, filepath.ToSlash(rel))
			return err
		}))
	}
	assert.Contains(t, need, "configs/aws-batch.yaml")
	assert.Contains(t, need, "cmd/batch/main.go")
	for _, p := range need {
		assert.False(t, ignored(t, root, p), "%s is needed by the build", p)
	}
}
