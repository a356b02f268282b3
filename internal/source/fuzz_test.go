package source

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

// fuzzMaxLine keeps lines short so the fuzzer reaches the too-long path.
const fuzzMaxLine = 200

// fuzzArchive is an archive over a manifest that is read from memory.
func fuzzArchive(t testing.TB, format string) *Archive {
	cfg, root, manifest, err := Config{Archive: "s3://bucket/root", Manifest: "s3://bucket/root/m." + format,
		DefaultDocumentID: 5}.validate()
	if err != nil {
		t.Fatal(err)
	}
	return &Archive{cfg: cfg, root: root, manifest: manifest, maxLine: fuzzMaxLine, opener: blob.NewOpener(blob.S3Options{}),
		stores: map[string]blob.Store{}}
}

// splitTestLines is the test's own idea of lines: "\n" separated, a final
// "\r" dropped, a leading byte order mark dropped, no line after a final
// "\n".
func splitTestLines(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(data) == 0 {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

var knownCodes = map[string]bool{
	CodeMissingFront: true, CodeMissingBack: true, CodeMissingSelfie: true, CodeUnsupportedFormat: true,
	CodeTooLarge: true, CodeTooSmall: true, CodeCorrupt: true, CodeEmptyFile: true, CodeBadManifestLine: true,
	CodeDuplicateRecord: true, CodeBadMetadata: true, CodeDuplicateImage: true, CodeMissingDocumentID: true,
}

// checkManifestRecords asserts the manifest contract: every line that is not
// blank gives exactly one record, in order, with a usable ID, a unique
// origin, and problems from the documented set; IDs repeat only on records
// marked duplicate_record.
func checkManifestRecords(t *testing.T, data []byte, recs []Record, skip func(n int, line []byte) bool) {
	lines := splitTestLines(data)
	i := 0
	seen := map[string]bool{}
	for idx, line := range lines {
		n := idx + 1
		if len(line) <= fuzzMaxLine && skip(n, line) {
			continue
		}
		if i >= len(recs) {
			t.Fatalf("line %d %q gave no record", n, line)
		}
		r := recs[i]
		i++
		if !strings.HasPrefix(r.Origin, "s3://bucket/root/m.") || !strings.HasSuffix(r.Origin, fmt.Sprintf(":%d", n)) {
			t.Fatalf("line %d: record origin %q", n, r.Origin)
		}
		if r.ID == "" {
			t.Fatalf("line %d: empty ID", n)
		}
		if seen[r.ID] && !r.hasProblem(CodeDuplicateRecord) {
			t.Fatalf("line %d: repeated ID %q without duplicate_record", n, r.ID)
		}
		seen[r.ID] = true
		if r.hasProblem(CodeDuplicateRecord) && !strings.Contains(r.Problems[0].Detail, "already appeared") {
			t.Fatalf("line %d: duplicate_record detail %q", n, r.Problems[0].Detail)
		}
		for _, p := range r.Problems {
			if !knownCodes[p.Code] || p.Detail == "" {
				t.Fatalf("line %d: problem %+v", n, p)
			}
		}
		if r.hasProblem(CodeBadManifestLine) && (r.Front != "" || r.Back != "" || r.Selfie != "") {
			t.Fatalf("line %d: a bad line kept image paths", n)
		}
		if r.ProcessType != pictureid.ProcessDocument && r.ProcessType != pictureid.ProcessDocumentSelfie {
			t.Fatalf("line %d: process type %q", n, r.ProcessType)
		}
		for _, u := range []string{r.Front, r.Back, r.Selfie} {
			if u == "" {
				continue
			}
			if _, err := blob.Parse(u); err != nil {
				t.Fatalf("line %d: image URI %q does not parse: %v", n, u, err)
			}
		}
	}
	if i != len(recs) {
		t.Fatalf("%d records for %d non-blank lines", len(recs), i)
	}
}

func readAll(t *testing.T, a *Archive, data []byte) ([]Record, error) {
	var recs []Record
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	err := a.readManifest(context.Background(), open, true, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

func FuzzManifestCSV(f *testing.F) {
	for _, seed := range []string{
		"record_id,front,back,selfie,document_id,process_type,previous_status,note\n" +
			"r1,a/front.jpg,a/back.png,a/selfie.jpg,58,documentSelfie,accepted,x\n" +
			"r2,s3://other/f.jpg,,,,document,,\n\n" +
			"r1,a/front.jpg,,,,,,\n" +
			"r3,a/front.jpg,too,few\n" +
			`r4,"a/front.jpg,,,,,,` + "\n" +
			",,,,,,,\n" +
			"r5,../x.jpg,,,abc,video,,\n",
		"\ufeffRECORD_ID ; front\r\nr1;f.jpg\r\n",
		"\ufeffrecord_id,front\r\nr1,f.jpg\r\n" + `"r2","f ""q"".jpg"` + "\r\n , \r\n",
		"record_id,front,,\nr,f,extra,more\nline-3,f,,\n,x,,\n",
		"\n\n  \nrecord_id,front\n" + strings.Repeat("x", 300) + "\nr,f",
		"front\nx\n",
		"record_id,front\n\"unterminated\n\"\n",
		"record_id,front,document_id\nr1,file:///abs/x.jpg,2147483648\nr2,/abs,0\nr3,a//b,-1\n",
		"",
		"\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fuzzArchive(t, "csv")
		recs, err := readAll(t, a, data)
		if err != nil {
			if !errors.Is(err, ErrAbort) || len(recs) > 0 {
				t.Fatalf("error %v after %d records", err, len(recs))
			}
			return // a header the parser refuses
		}
		header := 0
		checkManifestRecords(t, data, recs, func(n int, line []byte) bool {
			if header == 0 {
				if len(bytes.TrimSpace(line)) == 0 {
					return true
				}
				header = n
				return true
			}
			return csvBlank(line)
		})
	})
}

// csvBlank is the test's own blank-line rule: only spaces, or CSV fields
// that are all empty.
func csvBlank(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return true
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	fields, err := r.Read()
	if err != nil {
		return false
	}
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func FuzzManifestJSONL(f *testing.F) {
	for _, seed := range []string{
		`{"record_id":"j1","front":"a/front.jpg","selfie":"a/selfie.jpg","document_id":58,"x":[1,{"y":null}]}` + "\n" +
			`{"record_id":42,"front":"s3://b/k.jpg","process_type":"document","document_id":"137"}` + "\n\n" +
			"not json\n[1,2]\nnull\n\"str\"\n" +
			`{"record_id":"j1","front":"a/front.jpg"}` + "\n" +
			`{"record_id":true}` + "\n" +
			`{"record_id":"j3","front":5,"back":{},"selfie":[]}` + "\n" +
			`{"record_id":"j4","front":"x","document_id":true,"process_type":7,"previous_status":false}` + "\n" +
			`{"record_id":"j5"} trailing` + "\n" +
			`{"record_id":"line-13","front":"../x"}` + "\n",
		"\ufeff{\"record_id\":\"a\",\"front\":\"f\"}\r\n{\"record_id\":\"\\u0000\"}\r\n",
		`{"record_id":"` + strings.Repeat("x", 600) + `"}`,
		`{"record_id":"a","front":"f"}{"record_id":"b"}`,
		`{"record_id":1e400,"document_id":1e400}`,
		"{\"record_id\":\"\xff\xfe\",\"front\":\"\xff\"}",
		"",
		"\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fuzzArchive(t, "jsonl")
		recs, err := readAll(t, a, data)
		if err != nil {
			t.Fatalf("JSON Lines manifests never fail as a whole: %v", err)
		}
		checkManifestRecords(t, data, recs, func(_ int, line []byte) bool {
			return len(bytes.TrimSpace(line)) == 0
		})
	})
}

func FuzzCheckImage(f *testing.F) {
	jpg := jpegBytes(f, 40, 30)
	pngb := pngBytes(f, 40, 30)
	for _, seed := range [][]byte{
		jpg, pngb, withJFIF(jpg), jpg[:len(jpg)/2], jpegUpToScan(withJFIF(jpg)), pngb[:len(pngb)/2],
		pngb[:len(pngb)-12], pdfBytes, gifBytes(f, 8, 8), nil, {0xFF, 0xD8}, {0xFF, 0xD8, 0xFF, 0xFF, 0xFF},
		pngMagic, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), []byte("hello"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, code, reason := CheckImage(b)
		switch code {
		case "":
			if reason != "" {
				t.Fatalf("usable image with a reason %q", reason)
			}
			if info.Width <= 0 || info.Height <= 0 {
				t.Fatalf("usable image with dimensions %d×%d", info.Width, info.Height)
			}
			switch {
			case info.Format == FormatJPEG && info.ContentType == "image/jpeg" && bytes.HasPrefix(b, jpegMagic):
			case info.Format == FormatPNG && info.ContentType == "image/png" && bytes.HasPrefix(b, pngMagic):
			default:
				t.Fatalf("usable image with format %q, content type %q", info.Format, info.ContentType)
			}
		case CodeEmptyFile:
			if len(b) != 0 {
				t.Fatal("empty_file for a non-empty file")
			}
		case CodeUnsupportedFormat:
			if bytes.HasPrefix(b, jpegMagic) || bytes.HasPrefix(b, pngStart) {
				t.Fatal("unsupported_format for a JPEG/PNG signature")
			}
		case CodeCorrupt:
			if !bytes.HasPrefix(b, jpegMagic) && !bytes.HasPrefix(b, pngStart) {
				t.Fatal("corrupt without a JPEG/PNG signature")
			}
		default:
			t.Fatalf("unexpected code %q", code)
		}
		if code != "" && reason == "" {
			t.Fatalf("code %q without a reason", code)
		}
	})
}
