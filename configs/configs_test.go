package configs_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"reverify/configs"
	"reverify/internal/config"
	"reverify/internal/privacy"
)

var creds = []string{config.EnvClientID + "=id-from-env", config.EnvClientSecret + "=secret-from-env"}

func TestExampleIsTheDryRunDemo(t *testing.T) {
	c, err := config.Load(configs.Example(), nil) // no credentials needed
	require.NoError(t, err)
	assert.True(t, c.Run.DryRun)
	assert.Equal(t, "./archive", c.Source.Archive)
	assert.Equal(t, "./out", c.Output.URI)
	assert.Equal(t, 0.01, c.Emulator.TimeScale)
	assert.Equal(t, config.Rate{PerSecond: 100}, c.API.Rate)
	assert.Equal(t, "0/1", c.Run.Shard)
	// Poll timings are API times; scaled for the emulator they are short.
	p := c.EffectivePoll()
	assert.Equal(t, 200*time.Millisecond, p.InitialDelay)
	assert.Equal(t, 18*time.Second, p.Deadline)
}

func TestExampleMatchesFileAndIsACopy(t *testing.T) {
	onDisk, err := os.ReadFile("example.yaml")
	require.NoError(t, err)
	a := configs.Example()
	assert.Equal(t, onDisk, a)
	a[0] = 'X'
	assert.Equal(t, onDisk, configs.Example(), "callers cannot alter the embedded file")
}

// Every key is in example.yaml with a comment, and it holds no other key.
func TestExampleListsEveryKey(t *testing.T) {
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(configs.Example(), &root))
	var keys, uncommented []string
	defaults := map[string]string{} // key -> its comment
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.MappingNode {
				walk(v, prefix+k.Value+".")
				continue
			}
			keys = append(keys, prefix+k.Value)
			// A key has its own comment, or shares the one of the key on the
			// line just above (min_width and min_height).
			comment := k.HeadComment
			if comment == "" && i >= 2 && n.Content[i-2].Line == k.Line-1 {
				comment = n.Content[i-2].HeadComment
			}
			if comment == "" {
				uncommented = append(uncommented, prefix+k.Value)
			}
			defaults[prefix+k.Value] = comment
		}
	}
	walk(root.Content[0], "")
	want := config.Keys()
	sort.Strings(want)
	sort.Strings(keys)
	assert.Equal(t, want, keys)
	assert.Empty(t, uncommented, "keys without a comment")

	// Each comment states the built-in default, and it is the right one:
	// setting a key to its stated default changes nothing.
	stated := regexp.MustCompile(`Default: (\S+)`)
	for key, comment := range defaults {
		m := stated.FindStringSubmatch(comment)
		if !assert.NotNil(t, m, "%s: the comment states no default", key) {
			continue
		}
		value := strings.TrimSuffix(strings.TrimSuffix(m[1], ","), ".")
		if value == `""` {
			value = ""
		}
		if key == "run.run_id" || key == "run.shard" {
			assert.Empty(t, value, key) // derived at load time
			continue
		}
		want := config.Default()
		got := want
		if assert.NoError(t, got.Set(key, value), key) {
			assert.Equal(t, want, got, "%s: the comment says the default is %q", key, value)
		}
	}
}

func TestAWSBatchConfig(t *testing.T) {
	b, err := os.ReadFile("aws-batch.yaml")
	require.NoError(t, err)
	env := append([]string{
		"AWS_BATCH_JOB_ID=0f1e2d3c-aaaa-bbbb-cccc-111122223333:3",
		"AWS_BATCH_JOB_ARRAY_INDEX=3",
		"AWS_BATCH_JOB_ARRAY_SIZE=10",
	}, creds...)
	c, err := config.Load(b, env)
	require.NoError(t, err)
	assert.False(t, c.Run.DryRun)
	assert.Equal(t, "batch-0f1e2d3c-aaaa-bbbb-cccc-111122223333", c.Run.RunID)
	k, n := c.Shard()
	assert.Equal(t, [2]int{3, 10}, [2]int{k, n})
	assert.InDelta(t, 2.0, c.EffectiveRate(), 1e-12, "rate 20 shared by 10 shards")
	assert.Regexp(t, `^s3://`, c.Source.Archive)
	assert.Regexp(t, `^s3://`, c.Output.URI)
	assert.False(t, c.Output.DownloadResults, "result zips are an explicit choice")
	assert.Equal(t, privacy.Omit, c.Output.PersonalData)
	assert.Positive(t, c.Run.MaxDuration)
	assert.Equal(t, c.Source.S3, c.OutputS3())
	assert.Equal(t, "json", c.Logging.Format)

	out, err := c.Redacted()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "secret-from-env")
	assert.NotContains(t, string(out), "id-from-env")

	_, err = config.Load(b, env[:3])
	require.Error(t, err)
	assert.Equal(t, "api.client_id: required: set SIGNICAT_CLIENT_ID (or run with run.dry_run: true)\n"+
		"api.client_secret: required: set SIGNICAT_CLIENT_SECRET, SIGNICAT_CLIENT_SECRET_FILE or api.client_secret_file (or run with run.dry_run: true)",
		err.Error())
}
