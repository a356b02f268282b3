package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPartKeys(t *testing.T) {
	key := PartKey("nightly.1", 7, 10, 12, "20261127T010203Z-9f86d081")
	assert.Equal(t, "runs/nightly.1/shard-7-of-10/part-00012-20261127T010203Z-9f86d081.parquet", key)
	p, ok := ParsePartKey(key)
	assert.True(t, ok)
	assert.Equal(t, PartInfo{Key: key, RunID: "nightly.1", Shard: 7, ShardCount: 10, Seq: 12,
		Attempt: "20261127T010203Z-9f86d081"}, p)

	for _, bad := range []string{
		"runs/r/shard-0-of-1/part-00000.parquet",       // no attempt
		"runs/r/shard-0-of-1/part-x-a.parquet",         // bad seq
		"runs/r/shard-1-of-1/part-00000-a.parquet",     // shard out of range
		"runs/r/shard-0/part-00000-a.parquet",          // bad shard folder
		"runs/r/shard-0-of-1/part-00000-a.parquet.tmp", // not .parquet
		"runs/r/shard-0-of-1/x/part-00000-a.parquet",   // too deep
		"other/r/shard-0-of-1/part-00000-a.parquet",    // not under runs/
		"runs/.r/shard-0-of-1/part-00000-a.parquet",    // bad run id
		"runs/r/shard-0-of-1/_summary.json",            // the summary
		"runs/r/shard-0-of-1/part-00000-a b.parquet",   // bad attempt
	} {
		_, ok := ParsePartKey(bad)
		assert.False(t, ok, bad)
	}

	assert.Equal(t, "runs/r/shard-0-of-1/_summary.json", SummaryKey("r", 0, 1))
	run, shard, count, ok := parseSummaryKey("runs/r/shard-2-of-3/_summary.json")
	assert.True(t, ok)
	assert.Equal(t, []any{"r", 2, 3}, []any{run, shard, count})
	_, _, _, ok = parseSummaryKey("runs/r/shard-2-of-3/summary.json")
	assert.False(t, ok)
	assert.False(t, isPartKey("runs/r/shard-0-of-1/.tmp-part-00000-a.parquet.123"))
	assert.False(t, isPartKey("runs/r/shard-0-of-1/.part-00000-a.parquet"))
}
