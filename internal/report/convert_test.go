package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDateDays(t *testing.T) {
	for in, want := range map[string]int32{
		"1970-01-01":   0,
		"1970-01-02":   1,
		"1969-12-31":   -1,
		"1950-02-28":   -7247,
		"2000-02-29":   11016,
		" 2031-12-31 ": 22644,
	} {
		got := DateDays(in)
		if assert.NotNil(t, got, in) {
			assert.Equal(t, want, *got, in)
			assert.Equal(t, time.Unix(int64(want)*86400, 0).UTC().Format("2006-01-02"), DaysDate(got))
		}
	}
	for _, bad := range []string{"", "  ", "2001-02-29", "1990-13-01", "19900101", "1990-01-01T00:00:00Z", "abc"} {
		assert.Nil(t, DateDays(bad), bad)
	}
	assert.Equal(t, "", DaysDate(nil))
}

func TestTimestampAndDuration(t *testing.T) {
	assert.Nil(t, Timestamp(time.Time{}))
	ts := Timestamp(time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("X", -7200)))
	assert.Equal(t, time.Date(2026, 1, 2, 5, 4, 5, 999_000_000, time.UTC), *ts)
	assert.Equal(t, time.UTC, ts.Location())

	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, int64(1500), *DurationMS(a, a.Add(1500*time.Millisecond)))
	assert.Equal(t, int64(0), *DurationMS(a, a))
	assert.Nil(t, DurationMS(a, a.Add(-time.Second)))
	assert.Nil(t, DurationMS(time.Time{}, a))
	assert.Nil(t, DurationMS(a, time.Time{}))
}

func TestNonEmptyAndOutcomeChanged(t *testing.T) {
	assert.Nil(t, NonEmpty(""))
	assert.Equal(t, "x", *NonEmpty("x"))

	assert.Nil(t, OutcomeChanged("", OutcomeAccepted))
	assert.Nil(t, OutcomeChanged("  ", OutcomeAccepted))
	assert.False(t, *OutcomeChanged("ACCEPTED ", OutcomeAccepted))
	assert.True(t, *OutcomeChanged("accepted", OutcomeRejected))
}

func TestPrimaryReason(t *testing.T) {
	sr := func(cat, sub string) []StatusReason {
		return []StatusReason{{Category: cat, SubCategory: sub}, {Category: "Other"}}
	}
	for name, tc := range map[string]struct {
		row  Row
		want string
	}{
		"accepted is empty":        {Row{Outcome: OutcomeAccepted, StatusReasons: sr("A", "B")}, ""},
		"sub category first":       {Row{Outcome: OutcomeRejected, StatusReasons: sr("Security", "NotUnderage")}, "NotUnderage"},
		"else category":            {Row{Outcome: OutcomeRejected, StatusReasons: sr("ImageQuality", "")}, "ImageQuality"},
		"first status reason only": {Row{Outcome: OutcomeRejected, StatusReasons: []StatusReason{{}, {Category: "X"}}, ErrorCode: "e"}, "e"},
		"skip reason":              {Row{Outcome: OutcomeSkipped, SkipReasons: []string{"corrupt", "too_small"}}, "corrupt"},
		"error code":               {Row{Outcome: OutcomeError, ErrorCode: "http_400"}, "http_400"},
		"nothing":                  {Row{Outcome: OutcomeFailed}, ""},
	} {
		assert.Equal(t, tc.want, PrimaryReason(&tc.row), name)
	}
}

func TestOutcomes(t *testing.T) {
	assert.Len(t, Outcomes(), numOutcomes)
	for _, o := range Outcomes() {
		assert.True(t, KnownOutcome(o), o)
	}
	assert.False(t, KnownOutcome("Accepted"))
	assert.False(t, KnownOutcome(""))
	assert.True(t, Incomplete(OutcomeSkipped))
	assert.True(t, Incomplete(OutcomeError))
	assert.True(t, Incomplete(OutcomeTimeout))
	assert.False(t, Incomplete(OutcomeRejected))
}
