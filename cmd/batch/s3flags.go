package main

import (
	"flag"
	"strconv"
	"strings"

	"reverify/internal/blob"
	"reverify/internal/config"
)

// Help of the S3 flags every command shares (batch run, cleanup, report,
// specimen). With no endpoint anywhere, the AWS SDK takes
// AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then the profile's
// endpoint_url, else AWS itself.
const (
	s3EndpointHelp  = "endpoint URL of an S3-compatible store (default: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS)"
	s3RegionHelp    = "S3 region (default: AWS_REGION or the AWS profile, else us-east-1)"
	s3PathStyleHelp = "address buckets as <endpoint>/<bucket> (most S3-compatible stores)"
)

// s3Flags are --s3-endpoint, --s3-region and --s3-path-style of `batch run`
// and `batch cleanup`, the flags of `batch specimen` and `batch report`: one
// S3 store for the archive and the output alike. They set source.s3.<key>,
// and output.s3.<key> too when the output does not simply follow source.s3
// (see loadConfigS3).
type s3Flags struct {
	endpoint, region string
	pathStyle        bool
}

// s3FlagKeys maps each flag onto its key below source.s3 / output.s3.
var s3FlagKeys = map[string]string{"s3-endpoint": "endpoint", "s3-region": "region", "s3-path-style": "path_style"}

func addS3Flags(fs *flag.FlagSet) *s3Flags {
	f := &s3Flags{}
	both := func(help, key string) string {
		return "archive and output: " + help + " (source.s3." + key + ", output.s3." + key + ")"
	}
	fs.StringVar(&f.endpoint, "s3-endpoint", "", both(s3EndpointHelp, "endpoint"))
	fs.StringVar(&f.region, "s3-region", "", both(s3RegionHelp, "region"))
	fs.BoolVar(&f.pathStyle, "s3-path-style", false, both(s3PathStyleHelp, "path_style"))
	return f
}

// settings returns the source.s3 settings of the S3 flags given on fs, in
// flag name order. Put them before the --set settings so that --set wins.
func (f *s3Flags) settings(fs *flag.FlagSet) []config.Setting {
	var out []config.Setting
	fs.Visit(func(fl *flag.Flag) {
		key, ok := s3FlagKeys[fl.Name]
		if !ok {
			return
		}
		val := map[string]string{"endpoint": f.endpoint, "region": f.region, "path_style": strconv.FormatBool(f.pathStyle)}[key]
		out = append(out, config.Setting{Key: "source.s3." + key, Value: val, Source: "--" + fl.Name})
	})
	return out
}

// loadConfigS3 is loadConfig for settings that may hold those of s3Flags.
// output.s3 follows source.s3 while it sets no client key of its own
// (config.Config.OutputS3), so the flags' source.s3 keys reach the output
// too; when the file, the environment or --set gave output.s3 keys of its
// own, the flags set the same keys of output.s3, at the same place in the
// order (a later --set still wins).
func (m *Main) loadConfigS3(path string, settings []config.Setting) (config.Config, error) {
	var both []config.Setting
	flagged := false
	for _, s := range settings {
		both = append(both, s)
		if key, ok := strings.CutPrefix(s.Key, "source.s3."); ok && s3FlagKeys[strings.TrimPrefix(s.Source, "--")] == key {
			both = append(both, config.Setting{Key: "output.s3." + key, Value: s.Value, Source: s.Source})
			flagged = true
		}
	}
	cfg, err := m.loadConfig(path, settings)
	if !flagged || err != nil || s3Client(cfg.OutputS3()) == s3Client(cfg.SourceS3()) {
		return cfg, err // a bad flag value is reported once, as source.s3's
	}
	return m.loadConfig(path, both)
}

// s3Client returns o without its encryption keys: how the store is
// reached.
func s3Client(o blob.S3Options) blob.S3Options {
	o.SSE, o.KMSKeyID = "", ""
	return o
}
