package specimen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultMix(t *testing.T) {
	m := DefaultMix()
	require.NoError(t, m.Validate())
	total := 0
	for _, c := range Cases() {
		assert.Positive(t, m[c], "every case is in the default mix: %s", c)
		total += m[c]
	}
	assert.Equal(t, 100, total)
	assert.Equal(t, 42, m[CaseAccepted])
	assert.Equal(t, 6, m[CaseExpired])
	assert.Equal(t, 2, m[CaseCorruptJPEG])
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("accepted=50, expired=10,corrupt_jpeg=0,pdf_as_jpg=1")
	require.NoError(t, err)
	assert.Equal(t, Mix{CaseAccepted: 50, CaseExpired: 10, CaseCorruptJPEG: 0, CasePDFAsJPEG: 1}, m)
	assert.Equal(t, "accepted=50,expired=10,pdf_as_jpg=1", m.String())

	back, err := ParseMix(m.String())
	require.NoError(t, err)
	assert.Equal(t, Mix{CaseAccepted: 50, CaseExpired: 10, CasePDFAsJPEG: 1}, back)

	m, err = ParseMix("default,accepted=80,too_small=0")
	require.NoError(t, err)
	want := DefaultMix()
	want[CaseAccepted] = 80
	want[CaseTooSmall] = 0
	assert.Equal(t, want, m)

	m, err = ParseMix("default")
	require.NoError(t, err)
	assert.Equal(t, DefaultMix(), m)

	for spec, msg := range map[string]string{
		"":                          "empty mix",
		"accepted":                  "want case=weight",
		"acepted=3":                 `unknown case "acepted"`,
		"accepted=-1":               "non-negative integer",
		"accepted=1.5":              "non-negative integer",
		"accepted=0,expired=0":      "add up to zero",
		"accepted=1,default":        "must come first",
		"accepted=1,,expired=2":     "want case=weight",
		"expired=x":                 "non-negative integer",
		"accepted=1,black_and_whit": "want case=weight",
	} {
		_, err := ParseMix(spec)
		if assert.Error(t, err, spec) {
			assert.Contains(t, err.Error(), msg, spec)
		}
	}
}

func TestMixCounts(t *testing.T) {
	m := Mix{CaseAccepted: 3, CaseExpired: 1}
	c, err := m.Counts(10)
	require.NoError(t, err)
	assert.Equal(t, map[Case]int{CaseAccepted: 7, CaseExpired: 3}, c, "1 each, then 8 shared 6:2")

	c, err = DefaultMix().Counts(10000)
	require.NoError(t, err)
	sum := 0
	for _, n := range c {
		sum += n
	}
	assert.Equal(t, 10000, sum)
	assert.Equal(t, 1+9986*42/100, c[CaseAccepted])
	assert.InDelta(t, 600, c[CaseExpired], 1)
	assert.InDelta(t, 200, c[CaseTooSmall], 1)

	for _, count := range []int{1, 5, 13, 14, 15, 20, 99, 1001} {
		c, err := DefaultMix().Counts(count)
		require.NoError(t, err)
		sum := 0
		for _, n := range c {
			assert.Positive(t, n)
			sum += n
		}
		assert.Equal(t, count, sum, "count %d", count)
		if count >= len(Cases()) {
			assert.Len(t, c, len(Cases()), "every case at least once for count %d", count)
		} else {
			assert.Len(t, c, count, "distinct cases while count < cases")
			assert.Equal(t, 1, c[CaseAccepted], "the heaviest case first")
		}
	}

	_, err = Mix{CaseAccepted: 0}.Counts(3)
	assert.Error(t, err)
	_, err = Mix{Case("nope"): 1}.Counts(3)
	assert.Error(t, err)
}

func TestPlan(t *testing.T) {
	a, err := Plan(500, 7, DefaultMix())
	require.NoError(t, err)
	b, err := Plan(500, 7, DefaultMix())
	require.NoError(t, err)
	c, err := Plan(500, 8, DefaultMix())
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same plan")
	assert.NotEqual(t, a, c, "another seed shuffles differently")

	counts, err := DefaultMix().Counts(500)
	require.NoError(t, err)
	got := map[Case]int{}
	for _, x := range c {
		got[x]++
	}
	assert.Equal(t, counts, got)

	small, err := Plan(len(Cases()), 1, DefaultMix())
	require.NoError(t, err)
	assert.ElementsMatch(t, Cases(), small, "count = number of cases gives one of each")
}

func TestCaseTable(t *testing.T) {
	assert.Len(t, Cases(), 14)
	for _, c := range Cases() {
		parsed, err := ParseCase(string(c))
		require.NoError(t, err)
		assert.Equal(t, c, parsed)
		assert.NotEmpty(t, c.Description())
		assert.NotEmpty(t, c.PreviousStatus())
		e := c.Expected()
		assert.Contains(t, []string{OutcomeAccepted, OutcomeRejected, OutcomeInconclusive, OutcomeSkipped}, e.Outcome)
		assert.Equal(t, e.Outcome == OutcomeAccepted, e.Reason == "", "%s: a reason exactly when not accepted", c)
	}
	_, err := ParseCase("nope")
	assert.Error(t, err)
	assert.False(t, Case("nope").Known())
}
