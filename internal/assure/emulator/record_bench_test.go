package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"reverify/internal/assure"
	"reverify/internal/specimen"
	"reverify/internal/testutil/fakeclock"
)

// BenchmarkEmulatorRecord drives the emulator's handler in-process
// (ServeHTTP, no listener: the figures are the emulator's own cost) through
// the pipeline's per-record mix: a token every 1000 records, create dossier,
// create process, set images (front, back for two-page documents, selfie,
// realistic 1000×630 and 480×640 JPEGs of 60–200 KB with specimen data),
// start verification, get process (final), delete dossier. A window of
// inFlight records stays started and undeleted, as in a run with that many
// records in flight; the heap they hold is reported at the end.
//
//	go test -run '^$' -bench EmulatorRecord -benchtime 200x ./internal/assure/emulator/
//
// Metrics: ns/op, B/op and allocs/op are per record; cpu-ns/record and
// cpu-ns/req are the process's CPU time (user + system, GC included) over the
// timed part, which load on the machine distorts far less than ns/op;
// cpu-ns/setImages and cpu-ns/other-req split it by request (start
// verification, which decodes on a cache miss, is among the others);
// inflight-MB is the heap in use with inFlight records in flight, less the
// heap before the first record.
//
// pool: 8 records' images reused by every record (a manifest over an image
// pool). distinct: every record's images are distinct (a fresh comment
// segment in each JPEG: same pixels, other bytes), as over a real archive.
// +image_dir: images kept in files once their process is started.
func BenchmarkEmulatorRecord(b *testing.B) {
	sets := benchRecordSets(b, 8)
	for _, c := range []struct {
		distinct, spill bool
		inFlight        int
	}{
		{false, false, 256}, {false, false, 3400}, {true, false, 256}, {true, true, 256},
	} {
		name := "pool"
		if c.distinct {
			name = "distinct"
		}
		if c.spill {
			name += "+image_dir"
		}
		b.Run(fmt.Sprintf("%s/inflight=%d", name, c.inFlight), func(b *testing.B) {
			benchRecords(b, sets, c.distinct, c.spill, c.inFlight)
		})
	}
}

// benchSet is one record's images, base64-encoded once.
type benchSet struct {
	processType string
	documentID  int
	// b64 holds, per depiction, the base64 of the JPEG after its first two
	// bytes (the SOI marker): a prefix whose length is a multiple of 3 can be
	// encoded and prepended without re-encoding the rest.
	b64   map[string]string
	bytes int // image bytes of the record
}

// benchRecordSets renders n specimen records of a mix of cases and makes
// their images realistic in size: luminance noise (the texture of a photo
// or a scan) re-encoded at quality 90, the specimen data embedded again.
func benchRecordSets(b *testing.B, n int) []benchSet {
	b.Helper()
	cases := []specimen.Case{
		specimen.CaseAccepted, specimen.CaseTwoSided, specimen.CaseDocumentOnly, specimen.CaseExpired,
		specimen.CaseOtherPerson, specimen.CaseBlackAndWhite, specimen.CaseLookalike, specimen.CaseUnderage,
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	out := make([]benchSet, 0, n)
	for i := range n {
		rec := specimen.NewRecord(1, i, cases[i%len(cases)])
		files, err := specimen.Render(&rec)
		if err != nil {
			b.Fatal(err)
		}
		set := benchSet{processType: rec.ProcessType, documentID: rec.Document.ID, b64: map[string]string{}}
		for k, im := range rec.Images {
			data := noisyJPEG(b, files[k].Data, rnd)
			set.b64[im.Role] = base64.StdEncoding.EncodeToString(data[2:])
			set.bytes += len(data)
		}
		out = append(out, set)
	}
	return out
}

// noisyJPEG decodes img, adds luminance noise (grey stays grey), encodes it
// at quality 90 and embeds img's specimen data.
func noisyJPEG(b *testing.B, img []byte, rnd *rand.Rand) []byte {
	b.Helper()
	d, found, err := specimen.Extract(img)
	if err != nil || !found {
		b.Fatalf("specimen data: found %v, %v", found, err)
	}
	src, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		b.Fatal(err)
	}
	r := src.Bounds()
	dst := image.NewRGBA(r)
	clamp := func(v int) uint8 { return uint8(min(255, max(0, v))) }
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := src.At(x, y).RGBA()
			n := rnd.IntN(25) - 12
			dst.SetRGBA(x, y, color.RGBA{clamp(int(cr>>8) + n), clamp(int(cg>>8) + n), clamp(int(cb>>8) + n), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	out, err := specimen.Embed(buf.Bytes(), d)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// body is the set-images JSON of set; each image gets a comment segment
// after SOI naming unique, so that another unique makes other bytes.
func (s benchSet) body(unique int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for _, dep := range depictionOrder() {
		rest, ok := s.b64[dep]
		if !ok {
			continue
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		// SOI and a comment segment: 24 bytes, a multiple of 3.
		c := fmt.Sprintf("bench %-7d %-6s", unique, dep)[:18]
		prefix := append([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0, byte(2 + len(c))}, c...)
		buf.WriteString(`"` + dep + `":"data:image/jpeg;base64,`)
		buf.WriteString(base64.StdEncoding.EncodeToString(prefix))
		buf.WriteString(rest)
		buf.WriteByte('"')
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// benchDriver sends requests straight to the handler.
type benchDriver struct {
	b     *testing.B
	emu   *Emulator
	token string
	reqs  int
	// CPU time and count of set-images requests and of the others.
	cpuSet, cpuOther time.Duration
	nSet, nOther     int
}

func (d *benchDriver) do(method, path string, body []byte, want int, out any) {
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	if rd != nil {
		req = httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if strings.HasPrefix(path, assurePath) {
		req.Header.Set("Authorization", "Bearer "+d.token)
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	}
	w := httptest.NewRecorder()
	t0 := cpuTime()
	d.emu.ServeHTTP(w, req)
	if t := cpuTime() - t0; strings.HasSuffix(path, "/images") {
		d.cpuSet += t
		d.nSet++
	} else {
		d.cpuOther += t
		d.nOther++
	}
	d.reqs++
	if w.Code != want {
		d.b.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body.Bytes())
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			d.b.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (d *benchDriver) fetchToken() {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {Scope}}.Encode()
	var tok assure.TokenResponse
	d.do(http.MethodPost, tokenPath, []byte(form), http.StatusOK, &tok)
	d.token = tok.AccessToken
}

// benchRecord is a started record waiting for its final status.
type benchRecord struct{ dossier, process string }

func (d *benchDriver) submit(set benchSet, body []byte) benchRecord {
	var dos assure.Dossier
	d.do(http.MethodPost, "/assure/dossiers", []byte(`{"externalReference":"bench"}`), http.StatusCreated, &dos)
	pb, _ := json.Marshal(assure.CreateProcessRequest{Provider: assure.ProviderPictureID, ProcessType: set.processType, DocumentID: set.documentID})
	var pr assure.ProcessResponse
	d.do(http.MethodPost, "/assure/dossiers/"+dos.DossierID+"/processes", pb, http.StatusCreated, &pr)
	pp := procPath(dos.DossierID, pr.ProcessID)
	d.do(http.MethodPost, pp+"/images", body, http.StatusCreated, nil)
	d.do(http.MethodPost, pp, []byte("{}"), http.StatusOK, nil)
	return benchRecord{dos.DossierID, pr.ProcessID}
}

func (d *benchDriver) finish(r benchRecord) {
	var v struct {
		Status assure.Status `json:"status"`
	}
	d.do(http.MethodGet, procPath(r.dossier, r.process), nil, http.StatusOK, &v)
	if !v.Status.Final() {
		d.b.Fatalf("process %s: status %s, want final", r.process, v.Status)
	}
	d.do(http.MethodDelete, "/assure/dossiers/"+r.dossier, nil, http.StatusNoContent, nil)
}

func benchRecords(b *testing.B, sets []benchSet, distinct, spill bool, inFlight int) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg := DefaultConfig()
	cfg.TimeScale = 0.001
	if spill {
		cfg.ImageDir = b.TempDir()
	}
	emu, err := New(cfg, WithClock(clk.Now))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := emu.Close(); err != nil {
			b.Error(err)
		}
	})
	d := &benchDriver{b: b, emu: emu}
	// Each record advances the clock so that the one started inFlight
	// records earlier is past the longest processing latency.
	step := time.Duration(float64(cfg.Processing.Max+time.Second)*cfg.TimeScale) / time.Duration(inFlight)
	poolBodies := make([][]byte, len(sets))
	imageBytes := 0
	for i, s := range sets {
		poolBodies[i] = s.body(0)
		imageBytes += s.bytes
	}
	n := 0
	body := func(i int) []byte {
		if !distinct {
			return poolBodies[i%len(sets)]
		}
		n++
		return sets[i%len(sets)].body(n)
	}
	heapBefore := heapInUse()
	d.fetchToken()
	window := make([]benchRecord, 0, inFlight)
	for i := range inFlight {
		window = append(window, d.submit(sets[i%len(sets)], body(i)))
		clk.Advance(step)
	}
	b.ReportAllocs()
	b.ResetTimer()
	d.reqs, d.cpuSet, d.cpuOther, d.nSet, d.nOther = 0, 0, 0, 0, 0
	cpu0 := cpuTime()
	var cpu time.Duration
	for i := range b.N {
		var bd []byte
		if distinct {
			// Building the distinct body is the client's work.
			cpu += cpuTime() - cpu0
			b.StopTimer()
			bd = body(i)
			b.StartTimer()
			cpu0 = cpuTime()
		} else {
			bd = body(i)
		}
		if i%1000 == 999 {
			d.fetchToken()
		}
		d.finish(window[i%inFlight])
		window[i%inFlight] = d.submit(sets[i%len(sets)], bd)
		clk.Advance(step)
	}
	cpu += cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(d.reqs), "cpu-ns/req")
	b.ReportMetric(float64(d.reqs)/float64(b.N), "req/record")
	b.ReportMetric(float64(d.cpuSet.Nanoseconds())/float64(d.nSet), "cpu-ns/setImages")
	b.ReportMetric(float64(d.cpuOther.Nanoseconds())/float64(d.nOther), "cpu-ns/other-req")
	b.ReportMetric(float64(imageBytes)/float64(len(sets))/1000, "image-kB/record")
	b.ReportMetric(float64(heapInUse()-heapBefore)/(1<<20), "inflight-MB")
	runtime.KeepAlive(emu)
	runtime.KeepAlive(window)
	runtime.KeepAlive(poolBodies)
}

// heapInUse is the heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// BenchmarkEmulatorRecordHTTP is the pool mix over a real loopback listener
// with parallel clients (b.RunParallel): what a pipeline on the same machine
// sees, net/http on both sides included. cpu-ns/req is the CPU of the
// whole test process (clients too) per request.
//
//	go test -run '^$' -bench EmulatorRecordHTTP -benchtime 2000x ./internal/assure/emulator/
func BenchmarkEmulatorRecordHTTP(b *testing.B) {
	sets := benchRecordSets(b, 8)
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg := DefaultConfig()
	cfg.TimeScale = 0.001
	emu, err := New(cfg, WithClock(clk.Now))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	bodies := make([][]byte, len(sets))
	for i, s := range sets {
		bodies[i] = s.body(0)
	}
	// Due after the longest latency: one record's clock step.
	step := time.Duration(float64(cfg.Processing.Max+time.Second) * cfg.TimeScale)
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := cpuTime()
	var n atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		tok, err := postToken(hc, srv.URL)
		if err != nil {
			b.Error(err)
			return
		}
		c := &flowClient{base: srv.URL + "/assure", token: tok, hc: hc}
		for i := 0; pb.Next(); i++ {
			if i%1000 == 999 {
				if c.token, err = postToken(hc, srv.URL); err != nil {
					b.Error(err)
					return
				}
			}
			if err := httpRecord(c, sets[i%len(sets)], bodies[i%len(sets)], func() { clk.Advance(step) }); err != nil {
				b.Error(err)
				return
			}
			n.add(6)
		}
	})
	cpu := cpuTime() - cpu0
	b.StopTimer()
	reqs := n.load()
	b.ReportMetric(float64(reqs)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(reqs), "cpu-ns/req")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
}

func httpRecord(c *flowClient, set benchSet, body []byte, wait func()) error {
	var d assure.Dossier
	if err := c.call(http.MethodPost, "/dossiers", assure.CreateDossierRequest{ExternalReference: "bench"}, http.StatusCreated, &d); err != nil {
		return err
	}
	var p assure.ProcessResponse
	if err := c.call(http.MethodPost, "/dossiers/"+d.DossierID+"/processes",
		assure.CreateProcessRequest{Provider: assure.ProviderPictureID, ProcessType: set.processType, DocumentID: set.documentID}, http.StatusCreated, &p); err != nil {
		return err
	}
	pp := "/dossiers/" + d.DossierID + "/processes/" + p.ProcessID
	if err := c.callRaw(http.MethodPost, pp+"/images", bytes.NewReader(body), http.StatusCreated, nil); err != nil {
		return err
	}
	if err := c.callRaw(http.MethodPost, pp, strings.NewReader("{}"), http.StatusOK, nil); err != nil {
		return err
	}
	wait()
	var v struct {
		Status assure.Status `json:"status"`
	}
	if err := c.call(http.MethodGet, pp, nil, http.StatusOK, &v); err != nil {
		return err
	}
	if !v.Status.Final() {
		return fmt.Errorf("process %s: status %s, want final", p.ProcessID, v.Status)
	}
	return c.callRaw(http.MethodDelete, "/dossiers/"+d.DossierID, nil, http.StatusNoContent, nil)
}

// atomicCounter counts requests across RunParallel's goroutines.
type atomicCounter struct{ v atomic.Int64 }

func (c *atomicCounter) add(n int64) { c.v.Add(n) }
func (c *atomicCounter) load() int64 { return c.v.Load() }
