package emulator

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/testimage"
)

// Benchmarks over a real loopback listener with one reused token, many
// concurrent clients (b.RunParallel). Run:
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/assure/emulator/

type benchEnv struct {
	srv *httptest.Server
	c   *flowClient
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	cfg := DefaultConfig()
	cfg.TimeScale = 0.001
	emu, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	tok, err := postToken(hc, srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{srv: srv, c: &flowClient{base: srv.URL + "/assure", token: tok, hc: hc}}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkEmulatorCreateDossier(b *testing.B) {
	e := newBenchEnv(b)
	body := []byte(`{"externalReference":"bench"}`)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.c.callRaw(http.MethodPost, "/dossiers", bytes.NewReader(body), 201, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

func BenchmarkEmulatorGetProcess(b *testing.B) {
	e := newBenchEnv(b)
	var d assure.Dossier
	var p assure.ProcessResponse
	must(b, e.c.call(http.MethodPost, "/dossiers", nil, 201, &d))
	must(b, e.c.call(http.MethodPost, "/dossiers/"+d.DossierID+"/processes",
		assure.CreateProcessRequest{Provider: assure.ProviderPictureID, ProcessType: pictureid.ProcessDocument, DocumentID: 137}, 201, &p))
	pp := "/dossiers/" + d.DossierID + "/processes/" + p.ProcessID
	must(b, e.c.call(http.MethodPost, pp+"/images", map[string]string{"front": dataURL(testimage.MustJPEG(testimage.Color(400, 250, 1)))}, 201, nil))
	must(b, e.c.call(http.MethodPost, pp, nil, 200, nil))
	time.Sleep(200 * time.Millisecond) // > 120 emulated seconds
	var v assure.Process
	must(b, e.c.call(http.MethodGet, pp, nil, 200, &v))
	if !v.Status.Final() {
		b.Fatalf("status %s", v.Status)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.c.callRaw(http.MethodGet, pp, nil, 200, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

// noiseJPEG is a JPEG of about size bytes (random pixels compress badly).
func noiseJPEG(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	side := 64
	for {
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		for y := range side {
			for x := range side {
				img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
			}
		}
		j := testimage.MustJPEG(img)
		if len(j) >= size {
			return j
		}
		side += side / 16
	}
}

func BenchmarkEmulatorSetImages500KB(b *testing.B) {
	e := newBenchEnv(b)
	img := noiseJPEG(500_000)
	body, err := json.Marshal(map[string]string{"front": dataURL(img)})
	must(b, err)
	const procs = 64
	paths := make([]string, procs)
	for i := range paths {
		var d assure.Dossier
		var p assure.ProcessResponse
		must(b, e.c.call(http.MethodPost, "/dossiers", nil, 201, &d))
		must(b, e.c.call(http.MethodPost, "/dossiers/"+d.DossierID+"/processes",
			assure.CreateProcessRequest{Provider: assure.ProviderPictureID, DocumentID: 137}, 201, &p))
		paths[i] = "/dossiers/" + d.DossierID + "/processes/" + p.ProcessID + "/images"
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(procs)
		for pb.Next() {
			i = (i + 1) % procs
			if err := e.c.callRaw(http.MethodPost, paths[i], bytes.NewReader(body), 201, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
	b.ReportMetric(float64(len(img)), "image-bytes")
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
