package pipeline

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/source"
)

// personalKey is the key of the HMAC vectors below, computed with
// `printf '%s' "$value" | openssl dgst -sha256 -hmac "$key"`.
const personalKey = "reverify-test-key-0123456789abcdef"

var personalVectors = map[string]string{
	"WILLEKE LISELOTTE": "0f49c583001b35ad6be375e7a1ab7a65adb5a7095f1d6091c90f4850e335dd41",
	"DE BRUIJN":         "c2ae203be752405a5d2a2d0bd35e1cfa6a68696a9f5a1ae73a6694d08ece8152",
	"1965-03-10":        "9f5e9be4e44c8a050d4dae21fe8564a53b4ca1912b1d41358e408af920ab57f0",
	"SPECI2021":         "23107e8637b0cdc29f5113cba18d62cd8f91095f1c18e60201b37699d6c9cbba",
	"999999990":         "7eea6996070f93af3fc5af13846ee14d692377157a7160b9ea81007372ce57b5",
}

// finalRecord is a record whose final process is the seed answer in file
// (the API's own examples, internal/assure/testdata/seed).
func finalRecord(t *testing.T, file string) *record {
	t.Helper()
	raw, err := os.ReadFile("../assure/testdata/seed/" + file)
	require.NoError(t, err)
	proc, err := assure.DecodeProcess(raw)
	require.NoError(t, err)
	rec := &record{rec: source.Record{ID: "rec-1", Front: "file:///a/rec-1/front.jpg", Selfie: "file:///a/rec-1/selfie.jpg",
		DocumentID: 137, ProcessType: "documentSelfie", PreviousStatus: "accepted", Origin: "file:///a/rec-1/",
		Meta: map[string]string{"channel": "app"}}}
	rec.st.dossier, rec.st.process = "dossier-1", proc.ProcessID
	rec.submitted = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec.st.finish(proc, rec.submitted.Add(90*time.Second))
	return rec
}

func rowUnder(t *testing.T, rec *record, policy privacy.Policy) report.Row {
	t.Helper()
	p := &Pipeline{opt: Options{RunID: "run-1", PersonalData: policy, HashKey: privacy.Key(personalKey)}}
	return p.row(rec)
}

// withoutIdentifiers is r with every identifier column cleared: what must be
// equal under every policy.
func withoutIdentifiers(r report.Row) report.Row {
	r.FirstName, r.LastName, r.DocumentNumber, r.PersonalIdentificationNumber = nil, nil, nil, nil
	r.DateOfBirth, r.DateOfBirthHMAC, r.ResultJSON = nil, nil, nil
	return r
}

// Each output.personal_data policy, on rows made from the API's example
// answers: an accepted one (finalResult) and an inconclusive one (the
// document's subject, no finalResult).
func TestPersonalDataPolicies(t *testing.T) {
	for _, seed := range []string{"accepted-documentSelfie.json", "inconclusive-nonexpired.json", "rejected-verylow.json"} {
		t.Run(seed, func(t *testing.T) {
			rec := finalRecord(t, seed)
			include := rowUnder(t, rec, privacy.Include)
			omit := rowUnder(t, rec, privacy.Omit)
			hash := rowUnder(t, rec, privacy.Hash)

			// include: as the API sent them.
			require.NotNil(t, include.FirstName)
			assert.Equal(t, "WILLEKE LISELOTTE", *include.FirstName)
			assert.Equal(t, "DE BRUIJN", *include.LastName)
			assert.Equal(t, "1965-03-10", report.DaysDate(include.DateOfBirth))
			assert.Equal(t, "999999990", *include.PersonalIdentificationNumber)
			assert.JSONEq(t, string(rec.st.end.process.Raw), string(include.ResultJSON))
			assert.Nil(t, include.DateOfBirthHMAC)

			// omit: every identifier NULL.
			for name, col := range map[string]*string{"first_name": omit.FirstName, "last_name": omit.LastName,
				"document_number": omit.DocumentNumber, "personal_identification_number": omit.PersonalIdentificationNumber,
				"date_of_birth_hmac": omit.DateOfBirthHMAC} {
				assert.Nil(t, col, name)
			}
			assert.Nil(t, omit.DateOfBirth)
			assert.Nil(t, omit.ResultJSON)

			// hash: HMAC of each value as sent, the date of birth's apart.
			assert.Equal(t, personalVectors["WILLEKE LISELOTTE"], *hash.FirstName)
			assert.Equal(t, personalVectors["DE BRUIJN"], *hash.LastName)
			assert.Equal(t, personalVectors["999999990"], *hash.PersonalIdentificationNumber)
			if include.DocumentNumber != nil {
				assert.Equal(t, personalVectors[*include.DocumentNumber], *hash.DocumentNumber)
			} else {
				assert.Nil(t, hash.DocumentNumber, "an absent value stays NULL")
			}
			assert.Nil(t, hash.DateOfBirth)
			require.NotNil(t, hash.DateOfBirthHMAC)
			assert.Equal(t, personalVectors["1965-03-10"], *hash.DateOfBirthHMAC)
			assert.Nil(t, hash.ResultJSON, "a hash of the whole answer joins nothing")

			// Everything else is the same under every policy: the outcome,
			// its reasons, the document facts and checks.
			assert.Equal(t, withoutIdentifiers(include), omit)
			assert.Equal(t, withoutIdentifiers(include), withoutIdentifiers(hash))
			assert.NotNil(t, omit.Nationality)
			assert.NotEmpty(t, omit.Outcome)
		})
	}
}

// The accepted answer's values all come from finalResult; its document
// number is hashed too.
func TestPersonalDataHashesTheDocumentNumber(t *testing.T) {
	hash := rowUnder(t, finalRecord(t, "accepted-documentSelfie.json"), privacy.Hash)
	require.NotNil(t, hash.DocumentNumber)
	assert.Equal(t, personalVectors["SPECI2021"], *hash.DocumentNumber)
	assert.NotNil(t, hash.DateOfExpiry, "needed for the outcome: kept")
	assert.Equal(t, "high", *hash.SimilarityScore)
}

// A row without a final process (skipped) has no identifiers to hide under
// any policy.
func TestPersonalDataOnASkippedRow(t *testing.T) {
	rec := &record{rec: source.Record{ID: "rec-2"}}
	rec.st.skip([]source.Problem{{Code: "corrupt"}}, time.Now())
	for _, policy := range privacy.Policies() {
		r := rowUnder(t, rec, policy)
		assert.Equal(t, report.OutcomeSkipped, r.Outcome)
		assert.Nil(t, r.FirstName, policy)
		assert.Nil(t, r.DateOfBirthHMAC, policy)
		assert.Nil(t, r.ResultJSON, policy)
	}
}

// New makes no policy omit and refuses a policy it does not know, the hash
// policy without a key, and result zips under any policy but include.
func TestNewChecksThePersonalDataPolicy(t *testing.T) {
	deps := Deps{Archive: nopArchive{}, API: nopAPI{}, Rows: nopRows{}, Results: nopResults{}}
	opt := Options{RunID: "r", ShardCount: 1}
	p, err := New(opt, deps)
	require.NoError(t, err)
	assert.Equal(t, privacy.Omit, p.opt.PersonalData, "privacy by default")

	for name, mutate := range map[string]func(*Options){
		"unknown":         func(o *Options) { o.PersonalData = "hashed" },
		"hash, no key":    func(o *Options) { o.PersonalData = privacy.Hash },
		"hash, short key": func(o *Options) { o.PersonalData, o.HashKey = privacy.Hash, privacy.Key("short") },
		"zips, omit":      func(o *Options) { o.DownloadResults = true },
		"zips, hash": func(o *Options) {
			o.DownloadResults, o.PersonalData, o.HashKey = true, privacy.Hash, privacy.Key(personalKey)
		},
	} {
		o := opt
		mutate(&o)
		_, err := New(o, deps)
		assert.Error(t, err, name)
	}
	o := opt
	o.DownloadResults, o.PersonalData = true, privacy.Include
	_, err = New(o, deps)
	assert.NoError(t, err)
	o = opt
	o.PersonalData, o.HashKey = privacy.Hash, privacy.Key(personalKey)
	_, err = New(o, deps)
	assert.NoError(t, err)
}

// Stand-ins New accepts; never called.
type (
	nopArchive struct{ Archive }
	nopAPI     struct{ API }
	nopRows    struct{ RowSink }
	nopResults struct{ ResultStore }
)
