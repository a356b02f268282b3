package report

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/fakeclock"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 27, 1, 2, 3, 456_789_000, time.UTC)

// newClock returns a settable fake clock at t0.
func newClock() *fakeclock.Clock { return fakeclock.New(t0) }

// commits records OnCommit calls.
type commits struct {
	parts []string
	ids   [][]string
}

func (c *commits) OnCommit(part string, ids []string) {
	c.parts = append(c.parts, part)
	c.ids = append(c.ids, ids)
}

func (c *commits) all() []string {
	var out []string
	for _, ids := range c.ids {
		out = append(out, ids...)
	}
	return out
}

func localStore(t *testing.T) *blob.Local {
	t.Helper()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	return st
}

// fullRow has a value in every column.
func fullRow(i int) Row {
	sub := t0.Add(time.Duration(i) * time.Second).Truncate(time.Millisecond)
	done := sub.Add(1500 * time.Millisecond)
	return Row{
		RunID:             "run-1",
		Shard:             0,
		ShardCount:        1,
		RecordID:          fmt.Sprintf("rec-%05d", i),
		ExternalReference: fmt.Sprintf("run-1/rec-%05d", i),
		Origin:            "manifest:s3://archive/manifest.csv:line " + fmt.Sprint(i+2),
		FrontURI:          new("s3://archive/rec/front.jpg"),
		BackURI:           new("s3://archive/rec/back.png"),
		SelfieURI:         new("s3://archive/rec/selfie.jpg"),
		FrontSHA256:       new("a3f1"),
		BackSHA256:        new("b4e2"),
		SelfieSHA256:      new("c5d3"),
		DocumentID:        new(int32(1007)),
		ProcessType:       "documentSelfie",
		DossierID:         new("d-123"),
		ProcessID:         new("p-456"),
		Outcome:           OutcomeRejected,
		Reason:            "NotUnderage",
		StatusReasons: []StatusReason{
			{Type: "Document", Category: "Security", SubCategory: "NotUnderage", Message: "Security check 'notUnderage' failed or was not found."},
			{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'veryLow'."},
		},
		SkipReasons:                  []string{"too_small", "corrupt"},
		FailReason:                   new("upload_failed: ERROR"),
		ErrorCode:                    "http_400",
		ErrorMessage:                 new("bad request"),
		FirstName:                    new("Kari"),
		LastName:                     new("Nordmann"),
		DateOfBirth:                  DateDays("1950-02-28"),
		DateOfExpiry:                 DateDays("2031-12-31"),
		DateOfIssue:                  DateDays("1969-12-31"),
		Gender:                       new("F"),
		Nationality:                  new("NOR"),
		DocumentType:                 new("passport"),
		DocumentNumber:               new("FH254787"),
		IssuingCountry:               new("NOR"),
		PersonalIdentificationNumber: new("28025012345"),
		SimilarityScore:              new("high"),
		CheckNotTamperedDocument:     new(true),
		CheckNonExpired:              new(false),
		CheckNotUnderage:             new(true),
		CheckNotBlackAndWhite:        new(false),
		CheckDataIntegrity:           new(true),
		CheckSidesMatch:              new(false),
		CheckNotFaceSpoofing:         new(true),
		CheckSelfieAndDocumentMatch:  new(false),
		FailedChecks:                 []string{"nonExpired", "notBlackAndWhite", "sidesMatch", "selfieAndDocumentMatch"},
		SelfieSimilarityLevel:        new("veryLow"),
		SelfieStatus:                 new("SUCCESS"),
		PreviousOutcome:              new("accepted"),
		OutcomeChanged:               new(true),
		APICalls:                     9,
		Retries:                      2,
		Polls:                        4,
		SubmittedAt:                  &sub,
		CompletedAt:                  &done,
		DurationMS:                   new(int64(1500)),
		RecordedAt:                   new(done.Add(time.Second)),
		DryRun:                       true,
		ResultZipURI:                 new("s3://out/zips/p-456.zip"),
		Metadata:                     map[string]string{"onboarded": "2019-05-01", "channel": "app"},
		ResultJSON:                   json.RawMessage(`{"processId":"p-456","status":"rejected"}`),
	}
}

// minimalRow has only the required values: every nullable column is NULL.
func minimalRow(i int) Row {
	return Row{RecordID: fmt.Sprintf("min-%05d", i), Outcome: OutcomeSkipped}
}

func newTestWriter(t *testing.T, st blob.Store, cfg WriterConfig) *Writer {
	t.Helper()
	if cfg.RunID == "" {
		cfg.RunID = "run-1"
	}
	if cfg.ShardCount == 0 {
		cfg.ShardCount = 1
	}
	if cfg.Attempt == "" {
		cfg.Attempt = "a1"
	}
	w, err := NewWriter(st, cfg)
	require.NoError(t, err)
	return w
}

// readAll reads every row below the root.
func readAll(t *testing.T, st blob.Store) []Row {
	t.Helper()
	var rows []Row
	require.NoError(t, Read(context.Background(), st, func(r Row) error {
		rows = append(rows, r)
		return nil
	}))
	return rows
}

// keys lists every object below the root (without temporary files).
func keys(t *testing.T, st blob.Store) []string {
	t.Helper()
	var out []string
	err := st.List(context.Background(), "", func(o blob.Object) error {
		out = append(out, o.Key)
		return nil
	})
	if err != nil {
		require.ErrorIs(t, err, blob.ErrNotFound)
	}
	return out
}
