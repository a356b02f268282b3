package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedHTMLReport = 71

// batch report --html end to end: a run that keeps every personal value in
// its rows (output.personal_data include), then the page of its output,
// opened in headless Chromium. The page loads with no console message, no
// exception, no warning and no request for anything but itself; its
// outcome table says what `batch report --json` says; no record id and no
// personal value of the rows is anywhere in it. A copy of the page that
// tries to load an image from the network is caught, so the checks can
// fail.
func TestHTMLReportInABrowser(t *testing.T) {
	browser := StartBrowser(t)
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 60, Seed: seedHTMLReport})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "html-report",
		Sets: []string{"output.personal_data=include"}})
	RequireExit(t, res, ExitIncomplete)
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)

	page := filepath.Join(t.TempDir(), "report.html")
	rep := RunCommand(t, Command{Args: []string{"report", out, "--html", page}, Env: BaseEnv(t)})
	RequireExit(t, rep, ExitOK)
	assert.Contains(t, rep.Stderr, "wrote "+page)
	html, err := os.ReadFile(page)
	require.NoError(t, err)

	// No record id and no personal value, though the rows hold them.
	db := OpenDuckDB(t)
	rows := QueryRows(t, db, fmt.Sprintf(`SELECT record_id, external_reference, first_name, last_name, document_number,
		personal_identification_number, CAST(date_of_birth AS VARCHAR) AS date_of_birth FROM read_parquet(%s)`, ParquetGlob(out)))
	require.NotEmpty(t, rows)
	personal := 0
	for _, r := range rows {
		for col, v := range r {
			s, ok := v.(string)
			if !ok || len(s) < 4 {
				continue
			}
			if col != "record_id" && col != "external_reference" {
				personal++
			}
			assert.NotContains(t, string(html), s, "the page holds %s %q", col, s)
		}
	}
	require.Positive(t, personal, "the run kept personal values: the check above looked for them")

	url := "file://" + page
	var outcomes []map[string]string
	visit := browser.Open(t, url, 1280, 900, Evaluate(`[...document.querySelectorAll("table.outcomes tr")].slice(1).map(
		tr => ({outcome: tr.cells[0].innerText.trim(), records: tr.cells[1].innerText.trim()}))`, &outcomes))
	assert.Empty(t, visit.Problems(url), "a self-contained page: nothing but itself loaded, nothing complained")
	assert.Equal(t, []string{url}, visit.Requests)
	got := map[string]string{}
	for _, o := range outcomes {
		got[o["outcome"]] = o["records"]
	}
	want := map[string]string{}
	for o, n := range sums[0].Outcomes {
		if n > 0 {
			want[o] = fmt.Sprint(n)
		}
	}
	assert.Equal(t, want, got, "the page's outcomes are the summary's")
	img := decodePNG(t, visit.Screenshot)
	assert.Equal(t, 1280, img.Bounds().Dx())
	assert.Greater(t, img.Bounds().Dy(), 1500, "the whole page, not the first screen")
	assert.Greater(t, distinctColors(img), 50, "the page drew charts, not a blank")

	// The checks can fail: a page that reaches out is caught.
	leaky := filepath.Join(t.TempDir(), "leaky.html")
	require.NoError(t, os.WriteFile(leaky, bytes.Replace(html, []byte("</main>"),
		[]byte(`<img src="http://127.0.0.1:9/x.png"></main>`), 1), 0o644))
	bad := browser.Open(t, "file://"+leaky, 1280, 900)
	assert.NotEmpty(t, bad.Problems("file://"+leaky), "an image from the network is refused and reported")
}

// The page of a fixed input (internal/htmlreport's golden.html) looks as it
// did: a full-page screenshot compared with testdata/report-golden.png, block
// by block, with room for a browser's anti-aliasing. REVERIFY_UPDATE_GOLDEN=1
// writes the screenshot as the new golden image (look at it first).
func TestHTMLReportScreenshot(t *testing.T) {
	browser := StartBrowser(t)
	page, err := filepath.Abs("../../internal/htmlreport/testdata/golden.html")
	require.NoError(t, err)
	url := "file://" + page
	visit := browser.Open(t, url, 1280, 900)
	assert.Empty(t, visit.Problems(url))
	golden := filepath.Join("testdata", "report-golden.png")
	setupFile := filepath.Join("testdata", "report-golden.setup")
	setup := browser.Setup(t)
	if os.Getenv("REVERIFY_UPDATE_GOLDEN") != "" {
		require.NoError(t, os.WriteFile(golden, visit.Screenshot, 0o644))
		require.NoError(t, os.WriteFile(setupFile, []byte(setup+"\n"), 0o644))
		t.Logf("wrote %s (%s)", golden, setup)
	}
	// Another browser version or font draws other pixels: the comparison
	// means something only with the setup the golden image was taken with
	// (CI installs it: .ci/run).
	if want, err := os.ReadFile(setupFile); err == nil && strings.TrimSpace(string(want)) != setup {
		if os.Getenv("REVERIFY_REQUIRE_BROWSER") != "" {
			t.Fatalf("the golden screenshot was taken with %s, this machine has %s: update it (REVERIFY_UPDATE_GOLDEN=1) with the browser CI installs",
				strings.TrimSpace(string(want)), setup)
		}
		t.Skipf("the golden screenshot was taken with %s, this machine has %s", strings.TrimSpace(string(want)), setup)
	}
	wantPNG, err := os.ReadFile(golden)
	require.NoError(t, err, "REVERIFY_UPDATE_GOLDEN=1 writes it")
	got, want := decodePNG(t, visit.Screenshot), decodePNG(t, wantPNG)
	actual := filepath.Join(t.TempDir(), "report-actual.png")
	require.NoError(t, os.WriteFile(actual, visit.Screenshot, 0o644))
	require.Equal(t, want.Bounds(), got.Bounds(), "the page's size changed (the screenshot is %s)", actual)
	differ, blocks := blockDiff(want, got, 8, 16)
	assert.LessOrEqual(t, float64(differ)/float64(blocks), 0.001,
		"%d of %d 8×8 blocks differ from the golden image (the screenshot is %s)", differ, blocks, actual)
}

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

// distinctColors counts the colours of an image, up to 10,000.
func distinctColors(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}] = true
			if len(seen) >= 10000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// blockDiff compares two images of one size in size × size blocks: a block
// differs when the mean of a channel differs by more than tolerance (of
// 255). Text that moved by a pixel changes a block's mean a little; a
// missing bar or table changes it a lot.
func blockDiff(a, b image.Image, size, tolerance int) (differ, blocks int) {
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += size {
		for x := r.Min.X; x < r.Max.X; x += size {
			blocks++
			var sa, sb [3]int
			n := 0
			for yy := y; yy < min(y+size, r.Max.Y); yy++ {
				for xx := x; xx < min(x+size, r.Max.X); xx++ {
					for i, v := range channels(a.At(xx, yy)) {
						sa[i] += v
					}
					for i, v := range channels(b.At(xx, yy)) {
						sb[i] += v
					}
					n++
				}
			}
			for i := range sa {
				if d := (sa[i] - sb[i]) / n; d > tolerance || d < -tolerance {
					differ++
					break
				}
			}
		}
	}
	return differ, blocks
}

func channels(c color.Color) [3]int {
	r, g, b, _ := c.RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}
