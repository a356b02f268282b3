package pipeline_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/privacy"
	"reverify/internal/report"
)

// A dry run against the emulator follows output.personal_data like any
// run: the rows read back from Parquet hold no identifier under omit (the
// default), and under hash the HMAC of exactly what include writes.
func TestRunsFollowThePersonalDataPolicy(t *testing.T) {
	h := newHarness(t, 20, nil)
	ctx := context.Background()
	key := privacy.Key("reverify-test-key-0123456789abcdef")
	byRecord := func(runID string, policy privacy.Policy) map[string]report.Row {
		opt := h.options(runID)
		opt.PersonalData, opt.HashKey = policy, key
		_, err := h.attempt(ctx, opt, attemptHooks{})
		require.NoError(t, err)
		rows := h.rows(runID)
		h.checkOutcomes(rows)
		out := map[string]report.Row{}
		for _, r := range rows {
			out[r.RecordID] = r
		}
		return out
	}
	omitted := byRecord("run-default", "") // "" is omit
	included := byRecord("run-include", privacy.Include)
	hashed := byRecord("run-hash", privacy.Hash)

	hexHMAC := regexp.MustCompile(`^[0-9a-f]{64}$`)
	names := 0
	for id, in := range included {
		om, ha := omitted[id], hashed[id]
		assert.Nil(t, om.FirstName, id)
		assert.Nil(t, om.LastName, id)
		assert.Nil(t, om.DateOfBirth, id)
		assert.Nil(t, om.DocumentNumber, id)
		assert.Nil(t, om.PersonalIdentificationNumber, id)
		assert.Nil(t, om.ResultJSON, id)
		assert.Nil(t, om.DateOfBirthHMAC, id)
		assert.Nil(t, ha.ResultJSON, id)
		assert.Nil(t, ha.DateOfBirth, id)
		assert.Nil(t, in.DateOfBirthHMAC, id)
		assert.Equal(t, in.Outcome, om.Outcome, id)
		assert.Equal(t, in.Nationality, om.Nationality, id)
		assert.Equal(t, in.DateOfExpiry, ha.DateOfExpiry, id)
		for col, pair := range map[string][2]*string{
			"first_name": {in.FirstName, ha.FirstName}, "last_name": {in.LastName, ha.LastName},
			"document_number":                {in.DocumentNumber, ha.DocumentNumber},
			"personal_identification_number": {in.PersonalIdentificationNumber, ha.PersonalIdentificationNumber},
		} {
			if pair[0] == nil {
				assert.Nil(t, pair[1], "%s %s", id, col)
				continue
			}
			require.NotNil(t, pair[1], "%s %s", id, col)
			assert.Regexp(t, hexHMAC, *pair[1])
			assert.Equal(t, privacy.HMAC(key, *pair[0]), *pair[1], "%s %s", id, col)
		}
		if in.FirstName != nil {
			names++
		}
		if in.DateOfBirth != nil {
			require.NotNil(t, ha.DateOfBirthHMAC, id)
			assert.Equal(t, privacy.HMAC(key, report.DaysDate(in.DateOfBirth)), *ha.DateOfBirthHMAC, id)
		}
	}
	assert.Positive(t, names, "the emulator answered names")
}
