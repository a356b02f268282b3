package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

// TestArchiveSuite runs the same cases against a local folder, gofakes3 and
// versitygw (skipped when versitygw is not installed, unless
// REVERIFY_REQUIRE_S3 is set).
func TestArchiveSuite(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *backend{
		"local":     localBackend,
		"gofakes3":  gofakes3Backend,
		"versitygw": versitygwBackend,
	} {
		t.Run(name, func(t *testing.T) {
			b := mk(t)
			t.Run("FolderLayout", func(t *testing.T) { testFolderLayout(t, b.sub("folder")) })
			t.Run("RecordDepth", func(t *testing.T) { testRecordDepth(t, b.sub("depth")) })
			t.Run("ManifestCSV", func(t *testing.T) { testManifestCSV(t, b.sub("csv")) })
			t.Run("ManifestJSONL", func(t *testing.T) { testManifestJSONL(t, b.sub("jsonl")) })
			t.Run("ManyRecords", func(t *testing.T) { testManyRecords(t, b.sub("many")) })
			t.Run("OpenErrors", func(t *testing.T) { testOpenErrors(t, b, b.sub("errors")) })
			t.Run("CallbackError", func(t *testing.T) { testCallbackError(t, b.sub("callback")) })
			t.Run("LocalPathsInAManifest", func(t *testing.T) { testLocalPathsInAManifest(t, b.sub("local-paths")) })
		})
	}
}

// A manifest in S3 cannot make reverify read a file of the machine it runs
// on: a file:// image is a bad_manifest_line, and the file is never opened.
// A local manifest may name local files (its author runs reverify).
func testLocalPathsInAManifest(t *testing.T, b *backend) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.jpg")
	require.NoError(t, os.WriteFile(secret, jpegBytes(t, 400, 300), 0o644))
	b.put(t, "img/front.jpg", jpegBytes(t, 400, 300))
	lines := []string{
		"record_id,front",
		"passwd,file:///etc/passwd",
		"secret,file://" + filepath.ToSlash(secret),
		"fine,img/front.jpg",
	}
	b.put(t, "manifest.csv", []byte(strings.Join(lines, "\n")+"\n"))
	a, err := Open(ctx, b.opener, Config{Archive: b.root, Manifest: b.uri("manifest.csv"), DefaultProcessType: pictureid.ProcessDocument, DefaultDocumentID: 137})
	require.NoError(t, err)
	recs := byID(collect(t, a))
	require.Len(t, recs, 3)
	remote := !strings.HasPrefix(b.root, "file://") && !strings.HasPrefix(b.root, "/")
	for _, id := range []string{"passwd", "secret"} {
		r := recs[id]
		imgs, problems, err := a.Load(ctx, r)
		require.NoError(t, err)
		if !remote {
			if id == "secret" {
				assert.Empty(t, problems, "a local manifest may name local files")
			}
			continue
		}
		require.Equal(t, []string{CodeBadManifestLine}, codes(problems), id)
		assert.Contains(t, problems[0].Detail, "local path in a remote manifest", id)
		assert.Empty(t, r.Front, "nothing to fetch: %s", id)
		assert.Nil(t, imgs.Front, id)
	}
	_, problems, err := a.Load(ctx, recs["fine"])
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// folderFixture writes the folder-layout sample archive and returns what
// each record's Load must report.
func folderFixture(t *testing.T, b *backend) map[string][]string {
	front := jpegBytes(t, 400, 300)
	back := pngBytes(t, 400, 300)
	selfie := jpegBytes(t, 300, 400) // portrait: passes the 300×200 minimum in either orientation
	truncated := front[:len(front)/2]
	big := append(append([]byte{}, front...), make([]byte, 300<<10)...)

	put := b.put
	put(t, "manifest.csv", []byte("record_id,front\n")) // directly under the root: ignored
	put(t, "expected.jsonl", []byte("{}\n"))

	put(t, "rec-ok/front.jpg", front)
	put(t, "rec-ok/back.png", back)
	put(t, "rec-ok/selfie.jpg", selfie)
	put(t, "rec-ok/meta.json", []byte(`{"documentId":58,"processType":"documentSelfie","previousStatus":"accepted","channel":"web","score":0.9,"tags":["a"]}`))

	put(t, "rec-ok-2/front.png", back) // "rec-ok-2/" sorts before "rec-ok/" in S3 key order
	put(t, "rec-ok-2/selfie.jpg", selfie)

	put(t, "rec-upper/FRONT.JPG", front)
	put(t, "rec-upper/Selfie.PNG", pngBytes(t, 320, 240))

	put(t, "rec-doc/front.jpeg", front)
	put(t, "rec-doc/selfie.jpg", pdfBytes) // not needed for "document": not checked
	put(t, "rec-doc/meta.json", []byte("\ufeff"+`{"documentId":"137","processType":"Document"}`))

	put(t, "rec-noselfie/front.jpg", front)
	put(t, "rec-metaonly/meta.json", []byte(`{"documentId":58}`))

	put(t, "rec-twofronts/front.jpg", front)
	put(t, "rec-twofronts/front.png", back)
	put(t, "rec-twofronts/selfie.jpg", selfie)

	put(t, "rec-badmeta/front.jpg", front)
	put(t, "rec-badmeta/selfie.jpg", selfie)
	put(t, "rec-badmeta/meta.json", []byte(`{"documentId": 58,`))

	put(t, "rec-badvalues/front.jpg", front)
	put(t, "rec-badvalues/selfie.jpg", selfie)
	put(t, "rec-badvalues/meta.json", []byte(`{"documentId": -3, "processType": "video"}`))

	put(t, "rec-pdf/front.jpg", pdfBytes)
	put(t, "rec-pdf/selfie.jpg", selfie)
	put(t, "rec-gif/front.gif", gifBytes(t, 400, 300))
	put(t, "rec-gif/selfie.jpg", selfie)
	put(t, "rec-truncated/front.jpg", truncated)
	put(t, "rec-truncated/selfie.jpg", selfie)
	put(t, "rec-small/front.png", pngBytes(t, 50, 50))
	put(t, "rec-small/selfie.jpg", selfie)
	put(t, "rec-empty/front.jpg", nil)
	put(t, "rec-empty/selfie.jpg", selfie)
	put(t, "rec-large/front.jpg", big)
	put(t, "rec-large/selfie.jpg", selfie)

	put(t, "rec-many/front.jpg", pdfBytes)
	put(t, "rec-many/back.jpg", truncated)

	put(t, "rec-extra/front.jpg", front)
	put(t, "rec-extra/selfie.jpg", selfie)
	put(t, "rec-extra/notes.txt", []byte("n"))
	put(t, "rec-extra/thumbs/front.jpg", front)

	return map[string][]string{
		"rec-ok":        {},
		"rec-ok-2":      {},
		"rec-upper":     {},
		"rec-doc":       {},
		"rec-noselfie":  {CodeMissingSelfie},
		"rec-metaonly":  {CodeMissingFront, CodeMissingSelfie},
		"rec-twofronts": {CodeDuplicateImage},
		"rec-badmeta":   {CodeBadMetadata},
		"rec-badvalues": {CodeBadMetadata, CodeBadMetadata},
		"rec-pdf":       {CodeUnsupportedFormat},
		"rec-gif":       {CodeUnsupportedFormat},
		"rec-truncated": {CodeCorrupt},
		"rec-small":     {CodeTooSmall},
		"rec-empty":     {CodeEmptyFile},
		"rec-large":     {CodeTooLarge},
		"rec-many":      {CodeUnsupportedFormat, CodeCorrupt, CodeMissingSelfie},
		"rec-extra":     {},
	}
}

func testFolderLayout(t *testing.T, b *backend) {
	ctx := context.Background()
	want := folderFixture(t, b)
	a, err := Open(ctx, b.opener, Config{Archive: b.root, DefaultDocumentID: 99,
		Limits: Limits{MaxImageBytes: 256 << 10}})
	require.NoError(t, err)
	recs := collect(t, a)
	requireCountMatches(t, a, recs)

	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	wantIDs := make([]string, 0, len(want))
	for id := range want {
		wantIDs = append(wantIDs, id)
	}
	sort.Slice(wantIDs, func(i, j int) bool { return wantIDs[i]+"/" < wantIDs[j]+"/" })
	require.Equal(t, wantIDs, ids, "one record per folder, in S3 key order; keys under the root are ignored")

	for _, r := range recs {
		imgs, problems, err := a.Load(ctx, r)
		require.NoError(t, err, r.ID)
		assert.Equal(t, want[r.ID], codes(problems), "%s: %v", r.ID, problems)
		for _, p := range problems {
			assert.Contains(t, p.Detail, fmt.Sprintf("%q", r.ID), "the detail names the record")
		}
		require.NotNil(t, imgs)
	}

	m := byID(recs)
	ok := m["rec-ok"]
	assert.Equal(t, b.uri("rec-ok/front.jpg"), ok.Front)
	assert.Equal(t, b.uri("rec-ok/back.png"), ok.Back)
	assert.Equal(t, b.uri("rec-ok/selfie.jpg"), ok.Selfie)
	assert.Equal(t, b.uri("rec-ok/"), ok.Origin)
	assert.Equal(t, 58, ok.DocumentID)
	assert.Equal(t, pictureid.ProcessDocumentSelfie, ok.ProcessType)
	assert.Equal(t, "accepted", ok.PreviousStatus)
	assert.Equal(t, map[string]string{"channel": "web", "score": "0.9", "tags": `["a"]`}, ok.Meta)
	imgs, problems, err := a.Load(ctx, ok)
	require.NoError(t, err)
	require.Empty(t, problems)
	assert.Equal(t, FormatJPEG, imgs.Front.Format)
	assert.Equal(t, "image/jpeg", imgs.Front.ContentType)
	assert.Equal(t, [2]int{400, 300}, [2]int{imgs.Front.Width, imgs.Front.Height})
	assert.Equal(t, "image/png", imgs.Back.ContentType)
	assert.Equal(t, [2]int{300, 400}, [2]int{imgs.Selfie.Width, imgs.Selfie.Height})
	sum := sha256.Sum256(imgs.Front.Bytes)
	assert.Equal(t, hex.EncodeToString(sum[:]), imgs.Front.SHA256)
	assert.Equal(t, ok.Front, imgs.Front.URI)

	assert.Equal(t, b.uri("rec-upper/FRONT.JPG"), m["rec-upper"].Front, "upper-case names and extensions count")
	assert.Equal(t, 99, m["rec-upper"].DocumentID, "the default document ID applies")

	doc := m["rec-doc"]
	assert.Equal(t, pictureid.ProcessDocument, doc.ProcessType, "process types are accepted in any letter case")
	assert.Equal(t, 137, doc.DocumentID, "a document ID may be a string")
	imgs, _, err = a.Load(ctx, doc)
	require.NoError(t, err)
	assert.Nil(t, imgs.Selfie, "a document process does not load the selfie")

	bad := m["rec-badvalues"]
	assert.Equal(t, 99, bad.DocumentID, "an invalid document ID falls back to the default")
	assert.Equal(t, pictureid.ProcessDocumentSelfie, bad.ProcessType)
	assert.Contains(t, bad.Problems[0].Detail+bad.Problems[1].Detail, `"-3"`)
	assert.Contains(t, bad.Problems[0].Detail+bad.Problems[1].Detail, `"video"`)

	two := m["rec-twofronts"]
	assert.Contains(t, two.Problems[0].Detail, "front.jpg, front.png")
	assert.Equal(t, RoleFront, two.Problems[0].Role)

	extra := m["rec-extra"]
	assert.Equal(t, []string{"notes.txt", "thumbs/front.jpg"}, extra.Extra)
	assert.Equal(t, 2, extra.ExtraCount)

	// Problems name the file and say what is wrong.
	_, problems, err = a.Load(ctx, m["rec-pdf"])
	require.NoError(t, err)
	assert.Contains(t, problems[0].Detail, b.uri("rec-pdf/front.jpg"))
	assert.Contains(t, problems[0].Detail, "PDF")
	_, problems, err = a.Load(ctx, m["rec-small"])
	require.NoError(t, err)
	assert.Contains(t, problems[0].Detail, "50×50")
	_, problems, err = a.Load(ctx, m["rec-large"])
	require.NoError(t, err)
	assert.Contains(t, problems[0].Detail, "256 KiB")
	imgs, problems, err = a.Load(ctx, m["rec-truncated"])
	require.NoError(t, err)
	assert.Contains(t, problems[0].Detail, "truncated")
	assert.NotEmpty(t, imgs.Front.SHA256, "a fetched image keeps its hash even when it fails")
	assert.Empty(t, imgs.Front.Format)
}

func testRecordDepth(t *testing.T, b *backend) {
	ctx := context.Background()
	front, selfie := jpegBytes(t, 400, 300), jpegBytes(t, 400, 300)
	b.put(t, "2026/01/a/front.jpg", front)
	b.put(t, "2026/01/a/selfie.jpg", selfie)
	b.put(t, "2026/01/b/front.jpg", front)
	b.put(t, "2026/02/a/front.jpg", front)
	b.put(t, "2026/readme.txt", []byte("not in a record folder"))
	a, err := Open(ctx, b.opener, Config{Archive: b.root, RecordDepth: 3, DefaultDocumentID: 1,
		DefaultProcessType: pictureid.ProcessDocument})
	require.NoError(t, err)
	recs := collect(t, a)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"2026/01/a", "2026/01/b", "2026/02/a"}, ids)
	assert.Equal(t, b.uri("2026/01/a/selfie.jpg"), recs[0].Selfie)
	_, problems, err := a.Load(ctx, recs[2])
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// manifestImages writes the images manifests point to.
func manifestImages(t *testing.T, b *backend) {
	b.put(t, "img/r1/front.jpg", jpegBytes(t, 400, 300))
	b.put(t, "img/r1/back.png", pngBytes(t, 400, 300))
	b.put(t, "img/r1/selfie.jpg", jpegBytes(t, 300, 400))
	b.put(t, "img/pdf.jpg", pdfBytes)
}

func testManifestCSV(t *testing.T, b *backend) {
	ctx := context.Background()
	manifestImages(t, b)
	lines := []string{
		"\ufeffRecord_ID, front ,back,selfie,document_id,process_type,previous_status,channel", // 1: header, any case and spacing
		"r1,img/r1/front.jpg,img/r1/back.png,img/r1/selfie.jpg,58,documentSelfie,accepted,web", // 2
		"r2," + b.uri("img/r1/front.jpg") + ",,,,document,,",                                   // 3: full URI
		"", // 4: blank
		"r3,img/r1/front.jpg,img/missing/back.jpg,img/r1/selfie.jpg,,,,",          // 5
		"r4,img/r1/front.jpg,too,few",                                             // 6
		",img/r1/front.jpg,,img/r1/selfie.jpg,,,,",                                // 7
		"r1,img/r1/front.jpg,,img/r1/selfie.jpg,,,,",                              // 8
		`r5,"img/r1/front.jpg,,,,,,`,                                              // 9
		"r6,img/r1/front.jpg,,img/r1/selfie.jpg,abc,selfieOnly,,",                 // 10
		"r7,../secret.jpg,,,,,,",                                                  // 11
		"r8,img/pdf.jpg,,img/r1/selfie.jpg,,,,",                                   // 12
		" , ,,,,,,",                                                               // 13: blank fields
		`r9, "img/r1/front.jpg",,"img/r1/selfie.jpg",,,,"quoted, with ""comma"""`, // 14
		"r10,/abs/front.jpg,,img/r1/selfie.jpg,,,,",                               // 15
		"r11,img/r1/front.jpg,,img/nothing.jpg,,,,",                               // 16
	}
	b.put(t, "manifest.csv", []byte(strings.Join(lines, "\r\n")+"\r\n"))
	a, err := Open(ctx, b.opener, Config{Archive: b.root, Manifest: b.uri("manifest.csv"), DefaultDocumentID: 7})
	require.NoError(t, err)
	recs := collect(t, a)
	requireCountMatches(t, a, recs)

	wants := []lineWant{
		{"r1", 2, []string{}},
		{"r2", 3, []string{}},
		{"r3", 5, []string{CodeMissingBack}},
		{"r4", 6, []string{CodeBadManifestLine}},
		{"line-7", 7, []string{CodeBadManifestLine}},
		{"r1", 8, []string{CodeDuplicateRecord}},
		{"line-9", 9, []string{CodeBadManifestLine}},
		{"r6", 10, []string{CodeBadMetadata, CodeBadMetadata}},
		{"r7", 11, []string{CodeBadManifestLine}},
		{"r8", 12, []string{CodeUnsupportedFormat}},
		{"r9", 14, []string{}},
		{"r10", 15, []string{CodeBadManifestLine}},
		{"r11", 16, []string{CodeMissingSelfie}},
	}
	require.Len(t, recs, len(wants), "one record per non-blank line")
	checkLines(t, a, recs, wants, func(r Record, line int) {
		assert.Equal(t, fmt.Sprintf("%s:%d", b.uri("manifest.csv"), line), r.Origin)
	})

	r1 := recs[0]
	assert.Equal(t, b.uri("img/r1/front.jpg"), r1.Front)
	assert.Equal(t, b.uri("img/r1/back.png"), r1.Back)
	assert.Equal(t, 58, r1.DocumentID)
	assert.Equal(t, "accepted", r1.PreviousStatus)
	assert.Equal(t, map[string]string{"channel": "web"}, r1.Meta)
	assert.Equal(t, 7, recs[1].DocumentID, "default document ID")
	assert.Equal(t, pictureid.ProcessDocument, recs[1].ProcessType)
	assert.Equal(t, pictureid.ProcessDocumentSelfie, recs[2].ProcessType, "default process type")
	assert.Contains(t, recs[3].Problems[0].Detail, "4 fields, the header has 8")
	assert.Contains(t, recs[4].Problems[0].Detail, "record_id is empty")
	assert.Contains(t, recs[5].Problems[0].Detail, "line 2")
	assert.Contains(t, recs[6].Problems[0].Detail, "not valid CSV")
	assert.Contains(t, recs[8].Problems[0].Detail, `invalid path segment ".."`)
	assert.Equal(t, map[string]string{"channel": `quoted, with "comma"`}, recs[10].Meta)
	assert.Contains(t, recs[11].Problems[0].Detail, "absolute path")
	_, problems, err := a.Load(ctx, recs[12])
	require.NoError(t, err)
	assert.Contains(t, problems[0].Detail, b.uri("img/nothing.jpg")+" does not exist")

	// A header without the required columns stops Open.
	b.put(t, "noid.csv", []byte("id,front\nx,img/r1/front.jpg\n"))
	_, err = Open(ctx, b.opener, Config{Archive: b.root, Manifest: b.uri("noid.csv")})
	require.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "missing required column(s) record_id")
}

// lineWant is what one manifest line gives: a record with this ID whose
// Load reports these problem codes.
type lineWant struct {
	id    string
	line  int
	codes []string
}

// checkLines checks recs[i] against wants[i]: the ID, the origin (by
// checkOrigin, given the line) and the problem codes of Load.
func checkLines(t *testing.T, a *Archive, recs []Record, wants []lineWant, checkOrigin func(r Record, line int)) {
	t.Helper()
	ctx := context.Background()
	for i, w := range wants {
		r := recs[i]
		assert.Equal(t, w.id, r.ID, "line %d", w.line)
		checkOrigin(r, w.line)
		_, problems, err := a.Load(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, w.codes, codes(problems), "%s line %d: %v", r.ID, w.line, problems)
	}
}

func testManifestJSONL(t *testing.T, b *backend) {
	ctx := context.Background()
	manifestImages(t, b)
	lines := []string{
		`{"record_id":"j1","front":"img/r1/front.jpg","selfie":"img/r1/selfie.jpg","document_id":58,"channel":"app","score":0.5,"tags":["a","b"],"none":null}`,
		`{"record_id":42,"front":"img/r1/front.jpg","process_type":"document","document_id":"137"}`,
		`   `,
		`not json`,
		`[1,2]`,
		`{"record_id":"j1","front":"img/r1/front.jpg","selfie":"img/r1/selfie.jpg"}`,
		`{"record_id":true,"front":"img/r1/front.jpg"}`,
		`{"record_id":"j3","front":5}`,
		`{"record_id":"j4","front":"img/r1/front.jpg","selfie":null,"document_id":true}`,
		`{"record_id":"j5"}`,
		`{"record_id":"j6","front":"img/r1/front.jpg"} trailing`,
		`{"record_id":"j7","front":"` + b.uri("img/r1/front.jpg") + `","back":"img/r1/back.png","process_type":"document"}`,
	}
	b.put(t, "list.ndjson", []byte(strings.Join(lines, "\n"))) // no final newline
	a, err := Open(ctx, b.opener, Config{Archive: b.root, Manifest: b.uri("list.ndjson"), DefaultDocumentID: 7})
	require.NoError(t, err)
	recs := collect(t, a)
	wants := []lineWant{
		{"j1", 1, []string{}},
		{"42", 2, []string{}},
		{"line-4", 4, []string{CodeBadManifestLine}},
		{"line-5", 5, []string{CodeBadManifestLine}},
		{"j1", 6, []string{CodeDuplicateRecord}},
		{"line-7", 7, []string{CodeBadManifestLine}},
		{"j3", 8, []string{CodeBadManifestLine}},
		{"j4", 9, []string{CodeBadMetadata, CodeMissingSelfie}},
		{"j5", 10, []string{CodeMissingFront, CodeMissingSelfie}},
		{"line-11", 11, []string{CodeBadManifestLine}},
		{"j7", 12, []string{}},
	}
	require.Len(t, recs, len(wants))
	checkLines(t, a, recs, wants, func(r Record, line int) {
		assert.True(t, strings.HasSuffix(r.Origin, fmt.Sprintf(".ndjson:%d", line)), r.Origin)
	})
	assert.Equal(t, map[string]string{"channel": "app", "score": "0.5", "tags": `["a","b"]`}, recs[0].Meta)
	assert.Equal(t, 137, recs[1].DocumentID)
	assert.Contains(t, recs[2].Problems[0].Detail, "not valid JSON")
	assert.Contains(t, recs[3].Problems[0].Detail, "an array, not a JSON object")
	assert.Contains(t, recs[5].Problems[0].Detail, "record_id: a boolean")
	assert.Contains(t, recs[6].Problems[0].Detail, "front: 5 is a number")
	assert.Contains(t, recs[7].Problems[0].Detail, `document ID "true"`)
	assert.Contains(t, recs[9].Problems[0].Detail, "text after the JSON value")
	assert.Equal(t, b.uri("img/r1/back.png"), recs[10].Back)
}

// testManyRecords lists 2,500 records of 3 objects each: 7,500+ keys, so
// S3 listings take 8 pages of 1,000 keys and records straddle page ends.
func testManyRecords(t *testing.T, b *backend) {
	ctx := context.Background()
	const n = 2500
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("rec-%05d", i)
		b.put(t, id+"/front.jpg", []byte("f"))
		b.put(t, id+"/back.jpg", []byte("b"))
		b.put(t, id+"/selfie.png", []byte("s"))
		if i%500 == 0 {
			b.put(t, id+"/meta.json", []byte(`{"documentId":7}`))
		}
	}
	a, err := Open(ctx, b.opener, Config{Archive: b.root, DefaultDocumentID: 1})
	require.NoError(t, err)
	i := 0
	require.NoError(t, a.Records(ctx, func(r Record) error {
		id := fmt.Sprintf("rec-%05d", i)
		require.Equal(t, id, r.ID)
		require.Empty(t, r.Problems, id)
		require.Equal(t, b.uri(""+id+"/front.jpg"), r.Front, id)
		require.Equal(t, b.uri(""+id+"/back.jpg"), r.Back, id)
		require.Equal(t, b.uri(""+id+"/selfie.png"), r.Selfie, id)
		if i%500 == 0 {
			require.Equal(t, 7, r.DocumentID, id)
		} else {
			require.Equal(t, 1, r.DocumentID, id)
		}
		i++
		return nil
	}))
	assert.Equal(t, n, i)
}

func testOpenErrors(t *testing.T, base, b *backend) {
	ctx := context.Background()
	b.put(t, "present/front.jpg", []byte("x"))

	// A prefix with no objects: most likely mistyped.
	if !strings.HasPrefix(b.root, "s3://") {
		require.NoError(t, os.MkdirAll(filepath.Join(b.root, "nothing-here"), 0o755))
	}
	_, err := Open(ctx, b.opener, Config{Archive: b.root + "/nothing-here"})
	require.ErrorIs(t, err, ErrEmptyArchive)
	require.ErrorIs(t, err, ErrAbort)

	// A missing manifest.
	_, err = Open(ctx, b.opener, Config{Archive: b.root, Manifest: b.uri("none.csv")})
	require.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "none.csv does not exist")

	if strings.HasPrefix(b.root, "s3://") {
		_, err = Open(ctx, b.opener, Config{Archive: "s3://no-such-bucket-x1/prefix"})
		require.ErrorIs(t, err, ErrAbort)
		require.ErrorIs(t, err, blob.ErrNotFound)
		assert.Contains(t, err.Error(), `bucket "no-such-bucket-x1" does not exist`)

		_, err = Open(ctx, b.opener, Config{Manifest: "s3://no-such-bucket-x1/m.csv"})
		require.ErrorIs(t, err, ErrAbort)
		assert.Contains(t, err.Error(), "no-such-bucket-x1")
	} else {
		_, err = Open(ctx, b.opener, Config{Archive: b.root + "-missing"})
		require.ErrorIs(t, err, ErrAbort)
		assert.Contains(t, err.Error(), "folder "+b.root+"-missing does not exist")
	}

	if base.realAuth {
		wrong := base.s3opts
		wrong.SecretAccessKey = "not-the-secret"
		_, err = Open(ctx, blob.NewOpener(wrong), Config{Archive: b.root})
		require.ErrorIs(t, err, ErrAbort)
		require.ErrorIs(t, err, blob.ErrAccessDenied)
		assert.Contains(t, err.Error(), "access denied")
		assert.False(t, errors.Is(err, ErrRetry))

		// Access denied while loading an image aborts rather than skips.
		good, err := Open(ctx, b.opener, Config{Archive: b.root})
		require.NoError(t, err)
		recs := collect(t, good)
		require.Len(t, recs, 1)
		bad := &Archive{cfg: good.cfg, opener: blob.NewOpener(wrong), root: good.root, maxLine: maxLineBytes,
			stores: map[string]blob.Store{}}
		_, _, err = bad.Load(ctx, recs[0])
		require.ErrorIs(t, err, ErrAbort)
		require.ErrorIs(t, err, blob.ErrAccessDenied)
	}
}

func testCallbackError(t *testing.T, b *backend) {
	ctx := context.Background()
	b.put(t, "a/front.jpg", []byte("x"))
	b.put(t, "b/front.jpg", []byte("x"))
	b.put(t, "m.jsonl", []byte(`{"record_id":"a","front":"a/front.jpg"}`+"\n"+`{"record_id":"b","front":"b/front.jpg"}`+"\n"))
	stop := errors.New("stop here")
	for _, cfg := range []Config{{Archive: b.root}, {Archive: b.root, Manifest: b.uri("m.jsonl")}} {
		a, err := Open(ctx, b.opener, cfg)
		require.NoError(t, err)
		n := 0
		err = a.Records(ctx, func(Record) error { n++; return stop })
		assert.Equal(t, stop, err, "the callback's error comes back as is")
		assert.Equal(t, 1, n)
	}
}
