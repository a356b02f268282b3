package e2e

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"reverify/internal/assure/emulator"
)

// The README's markers around the curl walk-through ("The emulator").
const (
	walkthroughBegin = "<!-- curl-walkthrough"
	walkthroughEnd   = "<!-- /curl-walkthrough -->"
)

// readmeWalkthrough returns the shell block between the walk-through
// markers of README.md: the lines inside its ```sh fence, as a person copies
// them.
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, walkthroughBegin)
	j := strings.Index(readme, walkthroughEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q markers around the curl walk-through", walkthroughBegin, walkthroughEnd)
	}
	region := readme[i:j]
	open := strings.Index(region, "\n```sh\n")
	if open < 0 {
		t.Fatalf("no ```sh block between the walk-through markers:\n%s", region)
	}
	body := region[open+len("\n```sh\n"):]
	end := strings.Index(body, "\n```")
	if end < 0 {
		t.Fatalf("the walk-through's ```sh block is not closed before %q", walkthroughEnd)
	}
	return body[:end+1]
}

// The curl walk-through of README.md works pasted as it stands: run with
// bash against a real `batch emulator` process at the time scale the block
// names, from a folder holding the `make run` archive, with only the tools
// the README says it needs on PATH. It exits 0, reaches a final status,
// downloads the result and leaves no dossier behind.
func TestReadmeCurlWalkthrough(t *testing.T) {
	block := readmeWalkthrough(t)
	m := regexp.MustCompile(`(?m)^# first shell: bin/batch emulator --time-scale ([0-9.]+)$`).FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("the walk-through does not start with the emulator command (# first shell: bin/batch emulator --time-scale F):\n%s", block)
	}
	timeScale := m[1]

	// Only what the README lists (bash, curl, grep, coreutils): a jq or python3 creeping in fails here, not on a reader's
	// machine.
	tools := t.TempDir()
	for _, name := range []string{"bash", "curl", "grep", "cut", "head", "base64", "sleep"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("the walk-through needs %s: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}

	emu := Start(t, Command{Args: []string{"emulator", "--addr", "127.0.0.1:0", "--time-scale", timeScale}, Timeout: 3 * time.Minute})
	if !emu.WaitForOutput("  admin:", 10*time.Second) {
		t.Fatalf("batch emulator did not start:\n%s\n%s", emu.Stdout(), emu.Stderr())
	}
	u := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(emu.Stdout())
	if u == nil {
		t.Fatalf("no address in the emulator's banner:\n%s", emu.Stdout())
	}
	base := u[1]

	// The folder a person runs it from after `make run`: ./archive.
	dir := t.TempDir()
	arch := WriteSpecimen(t, SpecimenSpec{Out: "archive", Count: 200, Seed: 1, Dir: dir})
	var rec10 string
	for _, e := range arch.Expected {
		if e.RecordID == "rec-000010" {
			rec10 = fmt.Sprintf("%s %s %d", e.Outcome, e.ProcessType, e.DocumentID)
		}
	}
	if rec10 != "accepted documentSelfie 137" {
		t.Fatalf("rec-000010 of the make run archive is %q, the walk-through says an accepted passport (documentSelfie, 137)", rec10)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(tools, "bash"), "-c", block)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + tools, "HOME=" + t.TempDir(), "E=" + base}
	out, err := cmd.CombinedOutput()
	t.Logf("the walk-through printed:\n%s", out)
	if err != nil {
		t.Fatalf("the walk-through failed: %v", err)
	}

	text := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^dossier [0-9a-f-]{36}$`),
		regexp.MustCompile(`(?m)^process [0-9a-f-]{36}$`),
		regexp.MustCompile(`(?m)^201$`),                        // set images
		regexp.MustCompile(`"status":"processing"`),            // start
		regexp.MustCompile(`(?m)^status: accepted\n200\n204$`), // final, download, delete
		regexp.MustCompile(`"dossiers_live":0,`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the output lacks %s", want)
		}
	}
	statuses := regexp.MustCompile(`(?m)^status: (\S*)$`).FindAllStringSubmatch(text, -1)
	if len(statuses) == 0 {
		t.Fatal("no status line")
	}
	if last := statuses[len(statuses)-1][1]; last != "accepted" {
		t.Errorf("last status %q, want the final status accepted", last)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "result.zip"))
	if err != nil {
		t.Fatalf("result.zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	if strings.Join(names, ",") != "front.jpg,selfie.jpg,result.json" {
		t.Errorf("result.zip holds %v", names)
	}

	resp, err := http.Get(base + "/_emulator/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c emulator.Counters
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.DossiersCreated != 1 || c.DossiersDeleted != 1 || c.DossiersLive != 0 {
		t.Errorf("dossiers created %d, deleted %d, live %d: want 1, 1, 0", c.DossiersCreated, c.DossiersDeleted, c.DossiersLive)
	}
	if c.VerificationsStarted != 1 || c.MaxStartRequestsPerProcess != 1 || c.ImagesUploaded != 2 {
		t.Errorf("verifications started %d, max start requests %d, images %d: want 1, 1, 2",
			c.VerificationsStarted, c.MaxStartRequestsPerProcess, c.ImagesUploaded)
	}
	for ep, byStatus := range c.Requests {
		for status := range byStatus {
			if !strings.HasPrefix(status, "2") {
				t.Errorf("%s answered %s to the walk-through", ep, status)
			}
		}
	}
}
