package assure_test

import (
	"reverify/internal/fault"
	"reverify/internal/pictureid"

	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/specimen"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

// Contract tests: the real client (internal/assure) against the real
// emulator (internal/assure/emulator) over real HTTP on loopback. They pin
// down what the client makes of every endpoint, every final status and every
// error class the emulator produces. The client's own retry logic is unit
// tested with scripted servers in client_test.go.

// unknownID is a well-formed id the emulator never issued.
const unknownID = "00000000-0000-4000-8000-000000000000"

// TestContractEveryEndpointHappyPath walks one documentSelfie record on a
// two-page document through every endpoint and checks that the emulator
// answered each with its documented success status.
func TestContractEveryEndpointHappyPath(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client
	listFrom := h.emu.Now().Add(-time.Minute)

	types, err := c.DocumentTypes(ctx, "")
	require.NoError(t, err)
	require.NotEmpty(t, types)
	none, err := c.DocumentTypes(ctx, "onfido")
	require.NoError(t, err, "204: no document types for that provider")
	assert.Empty(t, none)

	d, err := c.CreateDossier(ctx, "case-1", nil)
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f-]{36}$`, d.DossierID)
	assert.Equal(t, "case-1", d.ExternalReference)
	assert.Equal(t, d.CreatedAt, d.UpdatedAt)
	assert.Zero(t, d.CreatedAt.Nanosecond(), "second precision")
	assert.WithinDuration(t, h.emu.Now(), d.CreatedAt.Time, time.Hour)

	pr, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{
		ProcessType: pictureid.ProcessDocumentSelfie, DocumentID: 136, EventTags: []string{"contract"}}, nil)

	require.NoError(t, err)
	assert.Equal(t, assure.ProviderPictureID, pr.Provider)
	assert.Equal(t, pictureid.ProcessDocumentSelfie, pr.ProcessType)
	assert.Equal(t, assure.StatusPending, pr.Status)
	assert.Equal(t, 2, pr.DocumentPages, "136 is a two-page identity card")
	assert.NotEmpty(t, pr.Authorization)

	p, err := c.GetProcess(ctx, d.DossierID, pr.ProcessID)
	require.NoError(t, err)
	assert.Equal(t, assure.StatusPending, p.Status)
	assertDecodesExactly(t, p)

	holder := seedHolder()
	holder.DocumentID = 136
	front := testimage.FrontJPEG(t, holder)
	back := testimage.PNG(t, testimage.Color(120, 80, 9)) // PNG: stored as sent, re-encoded to JPEG in the zip
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData(holder.PersonID, false))
	require.NoError(t, c.SetImages(ctx, d.DossierID, pr.ProcessID, assure.Images{Front: img(front), Back: img(back), Selfie: img(selfie)}))
	for dep, want := range map[string][]byte{assure.DepictionFront: front, assure.DepictionBack: back, assure.DepictionSelfie: selfie} {
		got, err := c.GetImage(ctx, d.DossierID, pr.ProcessID, dep)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s: the bytes uploaded", dep)
	}
	_, ready, err := c.DownloadResult(ctx, d.DossierID, pr.ProcessID)
	require.NoError(t, err)
	assert.False(t, ready, "204 before the process is final")

	v, err := c.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
	require.NoError(t, err)
	assert.Equal(t, &assure.VerifyResponse{ProcessID: pr.ProcessID, Status: assure.StatusProcessing}, v)

	dr, err := c.GetDossier(ctx, d.DossierID)
	require.NoError(t, err)
	assert.Equal(t, d.DossierID, dr.DossierID)
	require.Len(t, dr.Processes, 1)
	assert.Equal(t, pr.ProcessID, dr.Processes[0].ProcessID)
	assert.Equal(t, assure.ProviderPictureID, dr.Processes[0].Provider)
	assert.Equal(t, pictureid.ProcessDocumentSelfie, dr.Processes[0].ProcessType)
	assert.Contains(t, []assure.Status{assure.StatusProcessing, assure.StatusAccepted}, dr.Processes[0].Status)

	ds, err := c.ListDossiers(ctx)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, d.DossierID, ds[0].DossierID)
	assert.Equal(t, "case-1", ds[0].ExternalReference)

	final, err := awaitFinal(ctx, c, d.DossierID, pr.ProcessID)
	require.NoError(t, err)
	assert.Equal(t, assure.StatusAccepted, final.Status)
	assertDecodesExactly(t, final)

	zipped, ready, err := c.DownloadResult(ctx, d.DossierID, pr.ProcessID)
	require.NoError(t, err)
	require.True(t, ready)
	files := unzip(t, zipped)
	assert.Equal(t, []string{"front.jpg", "back.jpg", "selfie.jpg", "result.json"}, files.names)
	assert.Equal(t, front, files.data["front.jpg"], "JPEG uploads are stored as sent")
	assert.Equal(t, selfie, files.data["selfie.jpg"])
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(files.data["back.jpg"]))
	require.NoError(t, err, "the PNG back comes back as JPEG")
	assert.Equal(t, [2]int{120, 80}, [2]int{cfg.Width, cfg.Height})
	assert.JSONEq(t, string(final.Raw), string(files.data["result.json"]), "result.json is the process as GET process answers it")

	var listed []assure.ListedProcess
	require.NoError(t, c.EachProcess(ctx, assure.ProcessQuery{Start: listFrom}, func(lp assure.ListedProcess) error {
		listed = append(listed, lp)
		return nil
	}))
	require.Len(t, listed, 1)
	assert.Equal(t, pr.ProcessID, listed[0].ProcessID)
	assert.Equal(t, assure.StatusAccepted, listed[0].Status)
	assert.Equal(t, d.DossierID, listed[0].Dossier.DossierID)
	assert.Equal(t, "case-1", listed[0].Dossier.ExternalReference)

	require.NoError(t, c.DeleteProcess(ctx, d.DossierID, pr.ProcessID))
	_, err = c.GetProcess(ctx, d.DossierID, pr.ProcessID)
	assertProblem(t, err, fault.Record, 404, "Not Found", "The process was not found.")
	require.NoError(t, c.DeleteDossier(ctx, d.DossierID))
	_, err = c.GetDossier(ctx, d.DossierID)
	assertProblem(t, err, fault.Record, 404, "Not Found", "Dossier not found.")

	counters := h.emu.Counters()
	getProcess := counters.Requests[string(assure.EndpointGetProcess)]
	assert.GreaterOrEqual(t, getProcess["200"], int64(2))
	delete(counters.Requests, string(assure.EndpointGetProcess))
	assert.Equal(t, map[string]map[string]int64{
		"token":             {"200": 1},
		"getDocumentTypes":  {"200": 1, "204": 1},
		"createDossier":     {"201": 1},
		"createProcess":     {"201": 1},
		"setImages":         {"201": 1},
		"getImages":         {"200": 3},
		"getZipFile":        {"204": 1, "200": 1},
		"startVerification": {"200": 1},
		"getDossier":        {"200": 1, "404": 1},
		"getDossiers":       {"200": 1},
		"getAllProcess":     {"200": 1},
		"deleteProcess":     {"204": 1},
		"deleteDossier":     {"204": 1},
	}, counters.Requests, "every endpoint answered with its success status, each call made once")
	assert.Equal(t, int64(1), getProcess["404"])
	assert.Equal(t, int64(3), counters.ImagesUploaded)
	assert.Zero(t, counters.DossiersLive)
}

// zipFiles is the content of a result zip.
type zipFiles struct {
	names []string
	data  map[string][]byte
}

func unzip(t testing.TB, b []byte) zipFiles {
	t.Helper()
	names, data := inspect.Unzip(t, b)
	return zipFiles{names: names, data: data}
}

// TestContractDocumentTypes: the list has one- and two-page documents and
// create process answers documentPages accordingly.
func TestContractDocumentTypes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	types, err := h.client.DocumentTypes(ctx, assure.ProviderPictureID)
	require.NoError(t, err)
	fixture := emulator.DocumentTypes()
	require.Len(t, types, len(fixture))
	d, err := h.client.CreateDossier(ctx, "types", nil)
	require.NoError(t, err)
	pages := map[int]int{}
	for i, dt := range types {
		assert.Equal(t, fixture[i].DocumentType, dt)
		assert.NotZero(t, dt.ID)
		assert.NotEmpty(t, dt.Country)
		assert.NotEmpty(t, dt.Type)
		pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: dt.ID}, nil)
		require.NoError(t, err)
		assert.Equal(t, fixture[i].Pages, pr.DocumentPages, "document %d", dt.ID)
		pages[pr.DocumentPages]++
	}
	assert.Positive(t, pages[1], "one-page documents (passports)")
	assert.Positive(t, pages[2], "two-page documents (cards)")
	assert.Len(t, pages, 2)
	for _, p := range []string{"onfido", "signicatpaper", "signicatvideoid"} {
		l, err := h.client.DocumentTypes(ctx, p)
		require.NoError(t, err, p)
		assert.Nil(t, l, "%s: 204", p)
	}
}

// TestContractFinalStatuses runs one record per final status (and per
// reason) and checks what the client's GetProcess decodes against the seed's
// example of that status.
func TestContractFinalStatuses(t *testing.T) {
	const D, DS = pictureid.ProcessDocument, pictureid.ProcessDocumentSelfie
	with := func(mut func(*specimen.Data)) specimen.Data {
		d := seedHolder()
		mut(&d)
		return d
	}
	// wantAccepted is the seed's finalResult with this run's expiry date.
	wantFinalResult := func(t *testing.T, seed string) *assure.FinalResult {
		fr := seedProcess(t, seed).FinalResult
		fr.DateOfExpiry = seedHolder().DateOfExpiry
		return fr
	}
	checksOf := func(p *assure.Process) *assure.SecurityChecks {
		if p.ProviderSpecific == nil || p.ProviderSpecific.Document == nil {
			return nil
		}
		return p.ProviderSpecific.Document.SecurityChecks
	}
	cases := []struct {
		name        string
		seed        string // seed example with the same fields ("" when the seed has none)
		processType string
		imgs        func(t *testing.T) assure.Images
		status      assure.Status
		check       func(t *testing.T, p *assure.Process)
	}{
		{"accepted/document", "accepted-document", D, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}
		}, assure.StatusAccepted, func(t *testing.T, p *assure.Process) {
			assert.Equal(t, wantFinalResult(t, "accepted-document"), p.FinalResult)
			assert.Empty(t, p.FinalResult.SimilarityScore)
			assert.Equal(t, seedProcess(t, "accepted-document").ProviderSpecific.Document.SecurityChecks, checksOf(p))
			assert.Equal(t, "SPECI2021", p.ProviderSpecific.Document.DocumentNumber)
			assert.Equal(t, "WILLEKE LISELOTTE", p.ProviderSpecific.Document.Subject.FirstName)
			assert.Nil(t, p.StatusReasons)
			assert.Nil(t, p.Depictions)
		}},
		{"accepted/documentSelfie", "accepted-documentSelfie", DS, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder())), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false)))}
		}, assure.StatusAccepted, func(t *testing.T, p *assure.Process) {
			assert.Equal(t, wantFinalResult(t, "accepted-documentSelfie"), p.FinalResult)
			assert.Equal(t, assure.SimilarityHigh, p.FinalResult.SimilarityScore)
			sc := checksOf(p)
			assert.Equal(t, seedProcess(t, "accepted-documentSelfie").ProviderSpecific.Document.SecurityChecks, sc)
			assert.Equal(t, assure.SimilarityHigh, sc.SelfieAndDocumentMatch.SimilarityLevel)
			assert.Nil(t, sc.SelfieAndDocumentMatch.Result(), "similarityLevel instead of passed")
			assert.Equal(t, assure.SelfieSuccess, p.ProviderSpecific.Selfie.Status)
			assert.Positive(t, p.ProviderSpecific.Selfie.Width)
		}},
		{"rejected/underage", "rejected-notunderage", D, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfBirth = day(time.Now().AddDate(-16, 0, 0)) })))}
		}, assure.StatusRejected, func(t *testing.T, p *assure.Process) {
			seed := seedProcess(t, "rejected-notunderage")
			assert.Equal(t, seed.StatusReasons, p.StatusReasons)
			require.Len(t, p.StatusReasons, 1)
			assert.Equal(t, "NotUnderage", p.StatusReasons[0].SubCategory)
			sc := checksOf(p)
			assert.Equal(t, seed.ProviderSpecific.Document.SecurityChecks, sc)
			assert.False(t, *sc.DataIntegrity.Passed)
			assert.True(t, *sc.NotTamperedDocument.Passed)
			assert.Equal(t, []string{assure.DepictionFront}, p.Depictions)
			assert.Nil(t, p.FinalResult)
		}},
		{"rejected/image quality", "rejected-imagequality", D, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DocumentNumber = "" })))}
		}, assure.StatusRejected, func(t *testing.T, p *assure.Process) {
			seed := seedProcess(t, "rejected-imagequality")
			assert.Equal(t, seed.StatusReasons, p.StatusReasons)
			require.Len(t, p.StatusReasons, 1)
			assert.Equal(t, "ImageQuality", p.StatusReasons[0].Category)
			assert.Empty(t, p.StatusReasons[0].SubCategory)
			assert.Equal(t, seed.ProviderSpecific.Document.SecurityChecks, checksOf(p))
			assert.False(t, *checksOf(p).NotTamperedDocument.Passed)
			assert.NotNil(t, p.ProviderSpecific.Document.Subject.Photo)
			assert.NotNil(t, p.ProviderSpecific.Document.Subject.Signature)
			assert.Equal(t, []string{assure.DepictionFront}, p.Depictions)
		}},
		{"rejected/other person", "rejected-verylow", DS, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder())), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData("person-2", false)))}
		}, assure.StatusRejected, func(t *testing.T, p *assure.Process) {
			seed := seedProcess(t, "rejected-verylow")
			assert.Equal(t, seed.StatusReasons, p.StatusReasons)
			assert.Equal(t, seed.ProviderSpecific.Document.SecurityChecks, checksOf(p))
			assert.Equal(t, assure.SimilarityVeryLow, checksOf(p).SelfieAndDocumentMatch.SimilarityLevel)
			assert.Nil(t, p.FinalResult)
		}},
		{"inconclusive/expired", "inconclusive-nonexpired", D, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfExpiry = day(time.Now().AddDate(-1, 0, 0)) })))}
		}, assure.StatusInconclusive, func(t *testing.T, p *assure.Process) {
			seed := seedProcess(t, "inconclusive-nonexpired")
			assert.Equal(t, seed.StatusReasons, p.StatusReasons)
			assert.Equal(t, "NonExpired", p.StatusReasons[0].SubCategory)
			assert.Equal(t, seed.ProviderSpecific.Document.SecurityChecks, checksOf(p))
			assert.False(t, *checksOf(p).NonExpired.Result())
		}},
		{"inconclusive/lookalike", "inconclusive-medium", DS, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder())), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData("person-2", true)))}
		}, assure.StatusInconclusive, func(t *testing.T, p *assure.Process) {
			seed := seedProcess(t, "inconclusive-medium")
			assert.Equal(t, seed.StatusReasons, p.StatusReasons)
			assert.Equal(t, seed.ProviderSpecific.Document.SecurityChecks, checksOf(p))
			assert.Equal(t, assure.SimilarityMedium, checksOf(p).SelfieAndDocumentMatch.SimilarityLevel)
		}},
		{"inconclusive/black and white", "inconclusive-nonexpired", D, func(t *testing.T) assure.Images {
			return assure.Images{Front: img(testimage.Embed(t, testimage.JPEG(t, testimage.Grey(160, 100)), seedHolder()))}
		}, assure.StatusInconclusive, func(t *testing.T, p *assure.Process) {
			assert.Equal(t, []assure.StatusReason{{Type: "Document", Category: "SecurityCheckFailed",
				SubCategory: "NotBlackAndWhite", Message: "Security check 'notBlackAndWhite' failed."}}, p.StatusReasons)
			assert.False(t, *checksOf(p).NotBlackAndWhite.Passed)
			assert.True(t, *checksOf(p).NonExpired.Passed)
		}},
		{"failed/upload failed", "", D, func(t *testing.T) assure.Images {
			// A JPEG cut short: its magic bytes pass set images, it does
			// not decode at verification.
			front := testimage.FrontJPEG(t, seedHolder())
			return assure.Images{Front: img(front[:len(front)/2])}
		}, assure.StatusFailed, func(t *testing.T, p *assure.Process) {
			assert.Equal(t, &assure.FailReason{Type: "upload_failed", Message: "ERROR: signicatpictureid uploadImage()"}, p.FailReason)
			assert.Equal(t, []string{assure.DepictionFront}, p.Depictions)
			assert.Nil(t, p.ProviderSpecific)
			assert.Nil(t, p.StatusReasons)
			assert.Equal(t, []string{"createdAt", "depictions", "depictions[]", "failReason", "failReason.message",
				"failReason.type", "processId", "processType", "provider", "status", "updatedAt"}, inspect.SortedKeys(inspect.FieldPaths(t, p.Raw)),
				"the fields of the failed example, with the API's upload_failed reason")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			ctx := context.Background()
			d, p := h.final(tc.name, tc.processType, 137, tc.imgs(t))
			require.Equal(t, tc.status, p.Status, "%s", p.Raw)
			assert.Equal(t, tc.processType, p.ProcessType)
			assert.Equal(t, assure.ProviderPictureID, p.Provider)
			assertDecodesExactly(t, p)
			if tc.seed != "" {
				assertSeedShape(t, tc.seed, p)
			}
			tc.check(t, p)

			zipped, ready, err := h.client.DownloadResult(ctx, d, p.ProcessID)
			require.NoError(t, err)
			if tc.status == assure.StatusFailed {
				assert.False(t, ready, "no zip for a failed process (204)")
				return
			}
			require.True(t, ready)
			files := unzip(t, zipped)
			assert.Contains(t, files.names, "front.jpg")
			assert.JSONEq(t, string(p.Raw), string(files.data["result.json"]))
		})
	}

	t.Run("failed/transaction expired", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *emulator.Config) { c.TransactionExpiry = emulator.DefaultConfig().TransactionExpiry })
		require.Equal(t, 15*time.Minute, h.cfg.TransactionExpiry)
		ctx := context.Background()
		d, err := h.client.CreateDossier(ctx, "late", nil)
		require.NoError(t, err)
		pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: D, DocumentID: 137}, nil)
		require.NoError(t, err)
		require.NoError(t, h.client.SetImages(ctx, d.DossierID, pr.ProcessID, assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}))
		// 16 emulated minutes pass between the upload and the start.
		h.clock.Advance(time.Duration(float64(16*time.Minute) * h.cfg.TimeScale))
		v, err := h.client.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
		require.NoError(t, err, "the start is accepted; the process fails later")
		assert.Equal(t, assure.StatusProcessing, v.Status)
		p, err := awaitFinal(ctx, h.client, d.DossierID, pr.ProcessID)
		require.NoError(t, err)
		require.Equal(t, assure.StatusFailed, p.Status)
		assert.Equal(t, &assure.FailReason{Detail: "Transaction time expired."}, p.FailReason)
		assert.Equal(t, "Transaction time expired.", p.FailReason.Text())
		assert.Equal(t, []string{assure.DepictionFront}, p.Depictions)
		assertDecodesExactly(t, p)
		assertSeedShape(t, "failed-expired", p)
		_, ready, err := h.client.DownloadResult(ctx, d.DossierID, pr.ProcessID)
		require.NoError(t, err)
		assert.False(t, ready)
	})

	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		// Real time: processing takes 5–120 s, so a started process is
		// certainly still processing when it is canceled.
		h := newHarness(t, func(c *emulator.Config) { c.TimeScale = 1 })
		ctx := context.Background()
		d, err := h.client.CreateDossier(ctx, "cancel", nil)
		require.NoError(t, err)
		front := assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}
		for _, started := range []bool{false, true} {
			pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: D, DocumentID: 137}, nil)
			require.NoError(t, err)
			require.NoError(t, h.client.SetImages(ctx, d.DossierID, pr.ProcessID, front))
			if started {
				_, err := h.client.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
				require.NoError(t, err)
			}
			h.cancel(pr.ProcessID)
			p, err := h.client.GetProcess(ctx, d.DossierID, pr.ProcessID)
			require.NoError(t, err)
			require.Equal(t, assure.StatusCanceled, p.Status)
			assert.True(t, p.Status.Final())
			assertDecodesExactly(t, p)
			assertSeedShape(t, "canceled", p)
			assert.Nil(t, p.FailReason)
			assert.Nil(t, p.Depictions)
			_, ready, err := h.client.DownloadResult(ctx, d.DossierID, pr.ProcessID)
			require.NoError(t, err)
			assert.False(t, ready, "no zip for a canceled process (204)")
			err = h.client.SetImages(ctx, d.DossierID, pr.ProcessID, front)
			assertProblem(t, err, fault.Record, 409, "Conflict", "Conflict found while processing the request.")
			_, err = h.client.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
			assertProblem(t, err, fault.Record, 409, "Conflict", "Conflict found while processing the request.")
		}
	})
}

// TestContractSpecimenRecords uploads full-size records drawn by the archive
// generator (internal/specimen) and checks the outcome and reason it
// predicts: a selfie record, a two-sided card with its back, and a grey copy
// measured from real pixels. (Every reason is covered with small images in
// TestContractFinalStatuses; the e2e tests run whole archives.)
func TestContractSpecimenRecords(t *testing.T) {
	cases := []specimen.Case{specimen.CaseAccepted, specimen.CaseTwoSided, specimen.CaseBlackAndWhite}
	for i, sc := range cases {
		t.Run(string(sc), func(t *testing.T) {
			t.Parallel()
			rec := specimen.NewRecord(1, i, sc)
			imgs := renderImages(t, &rec)
			h := newHarness(t, nil)
			_, p := h.final(rec.ID, rec.ProcessType, rec.Document.ID, imgs)
			want := rec.Expected()
			assert.Equal(t, want.Outcome, string(p.Status), "%s", p.Raw)
			reason := ""
			if len(p.StatusReasons) > 0 {
				reason = p.StatusReasons[0].SubCategory
				if reason == "" {
					reason = p.StatusReasons[0].Category
				}
			}
			assert.Equal(t, want.Reason, reason)
			assertDecodesExactly(t, p)
			if p.Status == assure.StatusAccepted {
				front, _ := rec.Image(specimen.RoleFront)
				assert.Equal(t, front.Data.DocumentNumber, p.FinalResult.DocumentNumber)
				assert.Equal(t, front.Data.LastName, p.FinalResult.LastName)
			}
		})
	}
	t.Run("corrupt JPEG is refused at upload", func(t *testing.T) {
		t.Parallel()
		rec := specimen.NewRecord(1, 99, specimen.CaseCorruptJPEG)
		files, err := specimen.Render(&rec)
		require.NoError(t, err)
		h := newHarness(t, nil)
		ctx := context.Background()
		d, err := h.client.CreateDossier(ctx, rec.ID, nil)
		require.NoError(t, err)
		pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
		require.NoError(t, err)
		// SOI and garbage: the client cannot tell its type, so say JPEG.
		err = h.client.SetImages(ctx, d.DossierID, pr.ProcessID, assure.Images{Front: &assure.Image{Data: files[0].Data, ContentType: "image/jpeg"}})
		assertProblem(t, err, fault.Record, 400, "Bad Request", "front: Image content is neither JPEG nor PNG.")
	})
}

// renderImages draws a record's images.
func renderImages(t *testing.T, rec *specimen.Record) assure.Images {
	t.Helper()
	files, err := specimen.Render(rec)
	require.NoError(t, err)
	data := map[string][]byte{}
	for _, f := range files {
		data[f.Key] = f.Data
	}
	var imgs assure.Images
	for _, im := range rec.Images {
		b := data[rec.Key(im.Name)]
		require.NotEmpty(t, b, im.Name)
		switch im.Role {
		case specimen.RoleFront:
			imgs.Front = img(b)
		case specimen.RoleBack:
			imgs.Back = img(b)
		case specimen.RoleSelfie:
			imgs.Selfie = img(b)
		}
	}
	return imgs
}

// TestContractListing pages through GET /processes with a small limit and
// lists dossiers.
func TestContractListing(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client
	from := h.emu.Now().Add(-time.Minute)
	const n = 5
	var dossiers, processes []string
	for i := range n {
		d, err := c.CreateDossier(ctx, fmt.Sprint("list-", i), nil)
		require.NoError(t, err)
		pr, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
		require.NoError(t, err)
		dossiers = append(dossiers, d.DossierID)
		processes = append(processes, pr.ProcessID)
	}

	h.log.clear()
	var refs, ids []string
	require.NoError(t, c.EachProcess(ctx, assure.ProcessQuery{Start: from, Limit: 2}, func(lp assure.ListedProcess) error {
		refs = append(refs, lp.Dossier.ExternalReference)
		ids = append(ids, lp.ProcessID)
		assert.Equal(t, assure.StatusPending, lp.Status)
		assert.Equal(t, assure.ProviderPictureID, lp.Provider)
		assert.Equal(t, pictureid.ProcessDocument, lp.ProcessType)
		return nil
	}))
	assert.Equal(t, []string{"list-4", "list-3", "list-2", "list-1", "list-0"}, refs, "newest first, the dossier's externalReference")
	assert.Equal(t, []string{processes[4], processes[3], processes[2], processes[1], processes[0]}, ids)
	assert.Len(t, h.log.of(assure.EndpointListProcesses), 3, "pages of 2, 2 and 1")

	page, err := c.ListProcesses(ctx, assure.ProcessQuery{Start: from, Offset: 1, Limit: 2, Order: "createdAtAscending"})
	require.NoError(t, err)
	assert.Equal(t, n, page.TotalResults)
	require.Len(t, page.Processes, 2)
	assert.Equal(t, processes[1], page.Processes[0].ProcessID)
	assert.JSONEq(t, fmt.Sprintf(`{"startCreationDate":%q,"offset":1,"limit":2,"order":"createdAtAscending"}`,
		from.UTC().Format(assure.TimeLayout)), string(page.Filters))

	page, err = c.ListProcesses(ctx, assure.ProcessQuery{Start: from, Statuses: []assure.Status{assure.StatusAccepted, assure.StatusFailed}})
	require.NoError(t, err)
	assert.Zero(t, page.TotalResults)
	assert.Empty(t, page.Processes)

	stop := errors.New("stop")
	calls := 0
	err = c.EachProcess(ctx, assure.ProcessQuery{Start: from, Limit: 2}, func(assure.ListedProcess) error {
		calls++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)

	ds, err := c.ListDossiers(ctx)
	require.NoError(t, err)
	require.Len(t, ds, n)
	for i, d := range ds {
		assert.Equal(t, dossiers[n-1-i], d.DossierID, "newest first")
		assert.Equal(t, fmt.Sprint("list-", n-1-i), d.ExternalReference)
	}

	require.NoError(t, c.DeleteDossier(ctx, dossiers[4]))
	require.NoError(t, c.DeleteProcess(ctx, dossiers[3], processes[3]))
	ids = nil
	require.NoError(t, c.EachProcess(ctx, assure.ProcessQuery{Start: from, Limit: 2}, func(lp assure.ListedProcess) error {
		ids = append(ids, lp.ProcessID)
		return nil
	}))
	assert.Equal(t, []string{processes[2], processes[1], processes[0]}, ids, "deleted processes are not listed")
	ds, err = c.ListDossiers(ctx)
	require.NoError(t, err)
	assert.Len(t, ds, n-1)
}

// TestContractNotFound: unknown and deleted dossiers and processes are 404,
// Permanent, with the API's title and detail, and asked once.
func TestContractNotFound(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client
	front := assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}
	const dossierGone, processGone, imageGone = "Dossier not found.", "The process was not found.", "Image not found."
	notFound := func(err error, detail string) {
		t.Helper()
		assertProblem(t, err, fault.Record, 404, "Not Found", detail)
	}

	_, err := c.GetDossier(ctx, unknownID)
	notFound(err, dossierGone)
	err = c.DeleteDossier(ctx, unknownID)
	notFound(err, dossierGone)
	_, err = c.CreateProcess(ctx, unknownID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	notFound(err, dossierGone)

	d, err := c.CreateDossier(ctx, "nf", nil)
	require.NoError(t, err)
	pr, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocumentSelfie, DocumentID: 137}, nil)
	require.NoError(t, err)
	_, err = c.GetImage(ctx, d.DossierID, pr.ProcessID, assure.DepictionSelfie)
	notFound(err, imageGone)

	_, err = c.GetProcess(ctx, d.DossierID, unknownID)
	notFound(err, processGone)
	err = c.SetImages(ctx, d.DossierID, unknownID, front)
	notFound(err, processGone)
	_, err = c.StartVerification(ctx, d.DossierID, unknownID, nil)
	notFound(err, processGone)
	_, _, err = c.DownloadResult(ctx, d.DossierID, unknownID)
	notFound(err, processGone)
	err = c.DeleteProcess(ctx, d.DossierID, unknownID)
	notFound(err, processGone)
	_, err = c.GetImage(ctx, d.DossierID, unknownID, assure.DepictionFront)
	notFound(err, processGone)

	// A deleted process.
	require.NoError(t, c.DeleteProcess(ctx, d.DossierID, pr.ProcessID))
	_, err = c.GetProcess(ctx, d.DossierID, pr.ProcessID)
	notFound(err, processGone)
	err = c.DeleteProcess(ctx, d.DossierID, pr.ProcessID)
	notFound(err, processGone)
	err = c.SetImages(ctx, d.DossierID, pr.ProcessID, front)
	notFound(err, processGone)
	_, _, err = c.DownloadResult(ctx, d.DossierID, pr.ProcessID)
	notFound(err, processGone)

	// A deleted dossier takes its processes with it.
	pr2, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	require.NoError(t, err)
	require.NoError(t, c.SetImages(ctx, d.DossierID, pr2.ProcessID, front))
	require.NoError(t, c.DeleteDossier(ctx, d.DossierID))
	_, err = c.GetDossier(ctx, d.DossierID)
	notFound(err, dossierGone)
	_, err = c.GetProcess(ctx, d.DossierID, pr2.ProcessID)
	notFound(err, dossierGone)
	_, err = c.GetImage(ctx, d.DossierID, pr2.ProcessID, assure.DepictionFront)
	notFound(err, dossierGone)
	_, err = c.StartVerification(ctx, d.DossierID, pr2.ProcessID, nil)
	notFound(err, dossierGone)
	err = c.DeleteDossier(ctx, d.DossierID)
	notFound(err, dossierGone)
	_, err = c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	notFound(err, dossierGone)

	// Every 404 was asked once: a Permanent error is never retried.
	for ep, calls := range map[assure.Endpoint]int64{
		assure.EndpointGetDossier: 2, assure.EndpointDeleteDossier: 2, assure.EndpointCreateProcess: 2,
		assure.EndpointGetImage: 3, assure.EndpointGetProcess: 3, assure.EndpointSetImages: 2,
		assure.EndpointStartVerification: 2, assure.EndpointDownload: 2, assure.EndpointDeleteProcess: 2,
	} {
		assert.Equal(t, calls, h.requests(ep)["404"], "%s", ep)
		for _, a := range h.log.of(ep) {
			assert.Equal(t, 1, a.Number, "%s: never a second attempt", ep)
		}
	}
	assert.Zero(t, h.emu.Counters().StartRequests[pr2.ProcessID], "the start of a process of a deleted dossier reached no process")
}

// TestContractBadRequest: 400s are Permanent, carry the API's detail, and
// are asked once.
func TestContractBadRequest(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client
	bad := func(err error, detail string) {
		t.Helper()
		assertProblem(t, err, fault.Record, 400, "Bad Request", detail)
	}
	d, err := c.CreateDossier(ctx, "bad", nil)
	require.NoError(t, err)

	_, err = c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 999}, nil)
	bad(err, "Unknown documentId 999 for provider signicatpictureid.")
	_, err = c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument}, nil)
	bad(err, "The field 'documentId' is required for provider signicatpictureid.")
	_, err = c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: "video", DocumentID: 137}, nil)
	bad(err, "Process type 'video' is not supported by provider signicatpictureid.")
	assert.Zero(t, h.emu.Counters().ProcessesCreated)

	one, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	require.NoError(t, err)
	two, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocumentSelfie, DocumentID: 136}, nil)
	require.NoError(t, err)

	pngBytes := testimage.PNG(t, testimage.Color(40, 30, 1))
	err = c.SetImages(ctx, d.DossierID, two.ProcessID, assure.Images{Front: &assure.Image{Data: pngBytes, ContentType: "image/jpeg"}})
	bad(err, "front: Image content is image/png but the data URL declares image/jpeg.")
	err = c.SetImages(ctx, d.DossierID, two.ProcessID, assure.Images{Front: &assure.Image{Data: []byte("\xFF\xD8not an image"), ContentType: "image/jpeg"}})
	bad(err, "front: Image content is neither JPEG nor PNG.")
	err = c.SetImages(ctx, d.DossierID, one.ProcessID, assure.Images{Back: img(testimage.JPEG(t, testimage.Color(40, 30, 2)))})
	bad(err, "Document 137 has one page: there is no back image.")
	err = c.SetImages(ctx, d.DossierID, one.ProcessID, assure.Images{Selfie: img(testimage.JPEG(t, testimage.Color(40, 30, 2)))})
	bad(err, "Process type document has no selfie.")
	assert.Zero(t, h.emu.Counters().ImagesUploaded)

	// Start without the back and the selfie of a two-page documentSelfie.
	require.NoError(t, c.SetImages(ctx, d.DossierID, two.ProcessID, assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}))
	_, err = c.StartVerification(ctx, d.DossierID, two.ProcessID, nil)
	bad(err, "Missing images for verification: back, selfie.")
	assert.Equal(t, int64(1), h.emu.Counters().StartRequests[two.ProcessID], "the 400 was asked once")
	assert.Zero(t, h.emu.Counters().VerificationsStarted)

	_, err = c.GetImage(ctx, d.DossierID, two.ProcessID, assure.DepictionPortrait)
	bad(err, "Depiction 'portrait' is not provided by signicatpictureid.")
	_, err = c.GetImage(ctx, d.DossierID, one.ProcessID, assure.DepictionBack)
	bad(err, "Document 137 has one page: there is no back image.")
	_, err = c.DocumentTypes(ctx, "nobody")
	bad(err, `Unknown provider "nobody".`)
	_, err = c.ListProcesses(ctx, assure.ProcessQuery{Start: h.emu.Now().AddDate(0, 0, -31)})
	bad(err, "startCreationDate must be within the last 30 days.")

	for _, a := range h.log.all() {
		assert.Equal(t, 1, a.Number, "%s: a 400 is never retried", a.Endpoint)
	}
}

// TestContractConflict: set images after start and a second start are 409,
// Permanent, not "outcome unknown".
func TestContractConflict(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	front := assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}
	d, pr := h.flow("conflict", pictureid.ProcessDocument, 137, front)
	conflict := func(err error) {
		t.Helper()
		assertProblem(t, err, fault.Record, 409, "Conflict", "Conflict found while processing the request.")
	}
	conflict(h.client.SetImages(ctx, d, pr.ProcessID, front))
	_, err := h.client.StartVerification(ctx, d, pr.ProcessID, nil)
	conflict(err)

	p, err := awaitFinal(ctx, h.client, d, pr.ProcessID)
	require.NoError(t, err)
	require.Equal(t, assure.StatusAccepted, p.Status)
	conflict(h.client.SetImages(ctx, d, pr.ProcessID, front))
	_, err = h.client.StartVerification(ctx, d, pr.ProcessID, nil)
	conflict(err)

	c := h.emu.Counters()
	assert.Equal(t, int64(3), c.StartRequests[pr.ProcessID], "one start and two refused ones, each sent once")
	assert.Equal(t, int64(1), c.VerificationsStarted)
	assert.Equal(t, map[string]int64{"201": 1, "409": 2}, h.requests(assure.EndpointSetImages))
	assert.Equal(t, int64(1), c.ImagesUploaded)
}

// TestContractExpiredTokenIsRefreshedOnce: the emulator refuses an expired
// token with 401; the client fetches a new one and repeats the call once,
// even a create (a 401 is never applied).
func TestContractExpiredTokenIsRefreshedOnce(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	_, err := h.client.CreateDossier(ctx, "before", nil)
	require.NoError(t, err)

	// The emulator's clock passes the token's lifetime; the client's cache
	// (on the wall clock) still holds the token as valid.
	h.clock.Advance(h.cfg.TokenTTL + time.Second)
	d, err := h.client.CreateDossier(ctx, "after", nil)
	require.NoError(t, err)
	assert.Equal(t, "after", d.ExternalReference)

	c := h.emu.Counters()
	assert.Equal(t, int64(2), c.TokensIssued)
	assert.Equal(t, int64(2), c.DossiersCreated, "the refused create was not applied, the repeated one was")
	assert.Equal(t, map[string]int64{"201": 2, "401": 1}, h.requests(assure.EndpointCreateDossier))
	attempts := h.log.of(assure.EndpointCreateDossier)
	require.Len(t, attempts, 3)
	assert.Equal(t, 401, attempts[1].StatusCode)
	ae := apiError(t, attempts[1].Err)
	assert.Equal(t, "The JWT has expired.", ae.Body.Title)
	assert.Equal(t, 201, attempts[2].StatusCode)
	assert.NoError(t, attempts[2].Err)

	// The new token is cached.
	_, err = h.client.GetDossier(ctx, d.DossierID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), h.emu.Counters().TokensIssued)
}

// TestContractTokenLivesAsLongAsExpiresIn: the client keeps a token for the
// expires_in the token endpoint answered (less its renewal margin), so the
// emulator must accept it that long, whatever the fraction of the second it
// was issued at.
func TestContractTokenLivesAsLongAsExpiresIn(t *testing.T) {
	clk := &setClock{}
	issued := time.Date(2026, 3, 1, 12, 0, 0, 900_000_000, time.UTC) // late in a second
	clk.Set(issued)
	cfg := emulator.DefaultConfig()
	cfg.TokenTTL = 2 * time.Second
	emu, err := emulator.New(cfg, emulator.WithClock(clk.Now))
	require.NoError(t, err)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	log := &attemptLog{}
	c, err := assure.New(assure.Config{BaseURL: srv.URL + "/assure", TokenURL: srv.URL + "/auth/open/connect/token",
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Observer: log,
		Retry: assure.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.DocumentTypes(ctx, "")
	require.NoError(t, err)

	// 1.5 s after issue: within expires_in (2 s) and before the client's
	// renewal (a fifth of the lifetime early).
	clk.Set(issued.Add(1500 * time.Millisecond))
	_, err = c.DocumentTypes(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"200": 2}, emu.Counters().Requests[string(assure.EndpointDocumentTypes)],
		"the token was accepted for as long as expires_in said")
	assert.Equal(t, int64(1), emu.Counters().TokensIssued)

	// Past expires_in (and its rounding to whole seconds) it is refused.
	clk.Set(issued.Add(3 * time.Second))
	_, err = c.DocumentTypes(ctx, "")
	require.NoError(t, err, "refreshed once")
	assert.Equal(t, int64(1), emu.Counters().Requests[string(assure.EndpointDocumentTypes)]["401"])
	assert.Equal(t, int64(2), emu.Counters().TokensIssued)
}

// TestContractForeignTokenIsFatal: tokens signed by another emulator key
// (credentials no longer valid for this API) are refused even after a
// refresh: Fatal, and nothing is applied.
func TestContractForeignTokenIsFatal(t *testing.T) {
	h := newHarness(t, nil)
	otherCfg := emulator.DefaultConfig()
	otherCfg.Seed = 2 // another signing key, same credentials
	other, err := emulator.New(otherCfg)
	require.NoError(t, err)
	issuer := httptest.NewServer(other)
	t.Cleanup(issuer.Close)
	c := h.newClient(func(cfg *assure.Config) { cfg.TokenURL = issuer.URL + "/auth/open/connect/token" })
	ctx := context.Background()

	_, err = c.GetDossier(ctx, unknownID)
	ae := apiError(t, err)
	assert.Equal(t, fault.Abort, fault.Of(err))
	assert.Equal(t, 401, ae.StatusCode)
	assert.True(t, ae.AfterTokenRefresh)
	assert.Equal(t, "The signature of the JWT could not be validated because the key was not found.", ae.Body.Title)
	assert.Contains(t, err.Error(), "after a token refresh")
	assert.NotContains(t, err.Error(), emulator.DefaultClientSecret)
	assert.Equal(t, map[string]int64{"401": 2}, h.requests(assure.EndpointGetDossier), "one refresh, then no more")
	assert.Equal(t, int64(2), other.Counters().TokensIssued)

	_, err = c.CreateDossier(ctx, "never", nil)
	assert.Equal(t, fault.Abort, fault.Of(err))
	assert.False(t, assure.IsOutcomeUnknown(err), "a 401 is never applied")
	assert.Equal(t, map[string]int64{"401": 2}, h.requests(assure.EndpointCreateDossier))
	assert.Zero(t, h.emu.Counters().DossiersCreated)
	assert.Equal(t, int64(3), other.Counters().TokensIssued, "the cached (refused) token, then one refresh")
}

// TestContractWrongCredentialsAreFatal: the token endpoint refuses the
// client with invalid_client; Fatal, asked once, and no API call is made.
func TestContractWrongCredentialsAreFatal(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for _, tc := range []struct{ id, secret string }{
		{emulator.DefaultClientID, "not-the-secret"},
		{"someone-else", emulator.DefaultClientSecret},
	} {
		before := h.requests(assure.EndpointToken)["401"]
		c := h.newClient(func(cfg *assure.Config) { cfg.ClientID, cfg.ClientSecret = tc.id, tc.secret })
		_, err := c.CreateDossier(ctx, "never", nil)
		ae := apiError(t, err)
		assert.Equal(t, fault.Abort, fault.Of(err))
		assert.Equal(t, assure.EndpointToken, ae.Endpoint)
		assert.Equal(t, 401, ae.StatusCode)
		assert.Equal(t, "invalid_client", ae.Code())
		assert.False(t, assure.IsOutcomeUnknown(err))
		assert.NotContains(t, err.Error(), tc.secret, "the secret never appears in errors")
		assert.Equal(t, before+1, h.requests(assure.EndpointToken)["401"], "not retried")
	}
	c := h.emu.Counters()
	assert.Zero(t, c.TokensIssued)
	assert.Equal(t, []string{"token"}, keysOf(c.Requests), "no API call without a token")
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestContractRetryAfter: a 429 is never applied, so every call, create
// included, is repeated after the server's Retry-After, which the observer
// sees. Injected faults and the emulator's rate limit behave the same.
func TestContractRetryAfter(t *testing.T) {
	t.Run("injected 429", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		// 1000 emulated seconds at time scale 0.001 are sent as "Retry-After: 1".
		h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{TooManyRequests: 1, RetryAfter: 1000 * time.Second})
		h.liftFaultsAfter(assure.EndpointCreateDossier, 1)
		began := time.Now()
		d, err := h.client.CreateDossier(context.Background(), "patient", nil)
		require.NoError(t, err)
		assert.Equal(t, "patient", d.ExternalReference)
		assert.GreaterOrEqual(t, time.Since(began), time.Second, "Retry-After honoured")
		attempts := h.log.of(assure.EndpointCreateDossier)
		require.Len(t, attempts, 2)
		assert.Equal(t, 429, attempts[0].StatusCode)
		assert.Equal(t, time.Second, attempts[0].RetryAfter, "the observer sees the Retry-After")
		ra, ok := assure.RetryAfterOf(attempts[0].Err)
		assert.True(t, ok)
		assert.Equal(t, time.Second, ra)
		assert.Equal(t, fault.Retry, fault.Of(attempts[0].Err))
		assert.Equal(t, 201, attempts[1].StatusCode)
		assert.Equal(t, map[string]int64{"429": 1, "201": 1}, h.requests(assure.EndpointCreateDossier))
		assert.Equal(t, int64(1), h.emu.Counters().DossiersCreated)
	})
	t.Run("rate limit", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *emulator.Config) {
			// Two requests at once (the token and one call), then one a second.
			c.RateLimit = emulator.RateLimit{RequestsPerSecond: 1, Burst: 2, RetryAfter: 1000 * time.Second}
		})
		ctx := context.Background()
		_, err := h.client.DocumentTypes(ctx, "")
		require.NoError(t, err)
		began := time.Now()
		_, err = h.client.DocumentTypes(ctx, "")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(began), time.Second)
		attempts := h.log.of(assure.EndpointDocumentTypes)
		require.Len(t, attempts, 3)
		assert.Equal(t, 429, attempts[1].StatusCode)
		assert.Equal(t, time.Second, attempts[1].RetryAfter)
		assert.Equal(t, 200, attempts[2].StatusCode)
		assert.Equal(t, int64(1), h.emu.Counters().Faults[emulator.FaultKindRateLimited])
	})
	t.Run("longer than MaxPause pauses for MaxPause", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil) // MaxPause 1 s
		h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{TooManyRequests: 1, RetryAfter: 3000 * time.Second})
		h.liftFaultsAfter(assure.EndpointCreateDossier, 1)
		began := time.Now()
		d, err := h.client.CreateDossier(context.Background(), "impatient", nil)
		took := time.Since(began)
		require.NoError(t, err, "a 429 was not applied: even create is repeated")
		assert.Equal(t, "impatient", d.ExternalReference)
		assert.GreaterOrEqual(t, took, time.Second, "paused for MaxPause")
		assert.Less(t, took, 3*time.Second, "not for the 3 s Retry-After")
		attempts := h.log.of(assure.EndpointCreateDossier)
		require.Len(t, attempts, 2)
		assert.Equal(t, 3*time.Second, attempts[0].RetryAfter)
		assert.True(t, attempts[0].Paused, "the 429 paused the client")
		assert.Equal(t, map[string]int64{"429": 1, "201": 1}, h.requests(assure.EndpointCreateDossier))
		assert.Equal(t, int64(1), h.emu.Counters().DossiersCreated)
	})
}

// faultFixture is the state every endpoint of the fault matrix needs, twice
// (round 0 and round 1), so that a call that was applied in the first round
// does not change what the second finds.
type faultFixture struct {
	dossier string
	final   string    // an accepted process of dossier
	pending [2]string // processes of dossier with a front, not started
	spareD  [2]string // dossiers to delete
	spareP  [2]string // processes of dossier to delete
	front   assure.Images
	from    time.Time
}

func newFaultFixture(t *testing.T, h *harness) *faultFixture {
	t.Helper()
	ctx := context.Background()
	c := h.client
	fx := &faultFixture{front: assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}, from: h.emu.Now().Add(-time.Minute)}
	newProcess := func(upload bool) string {
		pr, err := c.CreateProcess(ctx, fx.dossier, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
		require.NoError(t, err)
		if upload {
			require.NoError(t, c.SetImages(ctx, fx.dossier, pr.ProcessID, fx.front))
		}
		return pr.ProcessID
	}
	d, err := c.CreateDossier(ctx, "fixture", nil)
	require.NoError(t, err)
	fx.dossier = d.DossierID
	fx.final = newProcess(true)
	_, err = c.StartVerification(ctx, fx.dossier, fx.final, nil)
	require.NoError(t, err)
	for i := range 2 {
		fx.pending[i] = newProcess(true)
		fx.spareP[i] = newProcess(false)
		s, err := c.CreateDossier(ctx, fmt.Sprint("spare-", i), nil)
		require.NoError(t, err)
		fx.spareD[i] = s.DossierID
	}
	// Jump past the longest processing latency.
	h.clock.Advance(time.Duration(float64(h.cfg.Processing.Max)*h.cfg.TimeScale) + time.Millisecond)
	p, err := c.GetProcess(ctx, fx.dossier, fx.final)
	require.NoError(t, err)
	require.Equal(t, assure.StatusAccepted, p.Status)
	return fx
}

// call makes one call of ep with c, on the fixture of the round.
func (fx *faultFixture) call(ctx context.Context, c *assure.Client, ep assure.Endpoint, round int) error {
	var err error
	switch ep {
	case assure.EndpointToken: // a fresh client fetches a token first
		_, err = c.DocumentTypes(ctx, "")
	case assure.EndpointCreateDossier:
		_, err = c.CreateDossier(ctx, fmt.Sprint("created-", round), nil)
	case assure.EndpointGetDossier:
		_, err = c.GetDossier(ctx, fx.dossier)
	case assure.EndpointListDossiers:
		_, err = c.ListDossiers(ctx)
	case assure.EndpointDeleteDossier:
		err = c.DeleteDossier(ctx, fx.spareD[round])
	case assure.EndpointCreateProcess:
		_, err = c.CreateProcess(ctx, fx.dossier, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	case assure.EndpointGetProcess:
		_, err = c.GetProcess(ctx, fx.dossier, fx.final)
	case assure.EndpointSetImages:
		err = c.SetImages(ctx, fx.dossier, fx.pending[round], fx.front)
	case assure.EndpointGetImage:
		_, err = c.GetImage(ctx, fx.dossier, fx.final, assure.DepictionFront)
	case assure.EndpointStartVerification:
		_, err = c.StartVerification(ctx, fx.dossier, fx.pending[round], nil)
	case assure.EndpointDeleteProcess:
		err = c.DeleteProcess(ctx, fx.dossier, fx.spareP[round])
	case assure.EndpointDocumentTypes:
		_, err = c.DocumentTypes(ctx, "")
	case assure.EndpointDownload:
		var ready bool
		_, ready, err = c.DownloadResult(ctx, fx.dossier, fx.final)
		if err == nil && !ready {
			err = errors.New("zip not ready")
		}
	case assure.EndpointListProcesses:
		_, err = c.ListProcesses(ctx, assure.ProcessQuery{Start: fx.from})
	default:
		err = fmt.Errorf("no call for endpoint %s", ep)
	}
	return err
}

// isGET reports the endpoints sent as GET: net/http's Transport itself
// repeats a GET once when a reused keep-alive connection is reset.
func isGET(ep assure.Endpoint) bool {
	switch ep {
	case assure.EndpointGetDossier, assure.EndpointListDossiers, assure.EndpointGetProcess, assure.EndpointGetImage,
		assure.EndpointDocumentTypes, assure.EndpointDownload, assure.EndpointListProcesses:
		return true
	}
	return false
}

// TestContractFaultMatrix injects each fault kind on each endpoint, with
// certainty (probability 1), and checks the client's error class and how
// often the request reached the emulator:
//
//   - round 0, fault on every request: reads, deletes, set images and the
//     token are retried until the attempt budget is spent (Retryable);
//     create dossier, create process and start verification are sent once
//     and end "outcome unknown" (except 429, which is never applied and is
//     repeated like a read);
//   - round 1, fault on the first attempt only: every call that may be
//     repeated succeeds on its second attempt.
func TestContractFaultMatrix(t *testing.T) {
	kinds := []struct {
		name  string
		spec  emulator.FaultSpec
		fault string // emulator.Counters.Faults key
	}{
		{"server_error", emulator.FaultSpec{ServerError: 1}, emulator.FaultKindServerError},
		{"too_many_requests", emulator.FaultSpec{TooManyRequests: 1}, emulator.FaultKindTooManyRequests}, // Retry-After: 0
		{"reset", emulator.FaultSpec{Reset: 1}, ""},
		{"truncate", emulator.FaultSpec{Truncate: 1}, emulator.FaultKindTruncate},
	}
	for _, k := range kinds {
		for _, ep := range assure.Endpoints() {
			t.Run(k.name+"/"+string(ep), func(t *testing.T) {
				h := newHarness(t, nil)
				fx := newFaultFixture(t, h)
				ctx := context.Background()
				throttled := k.name == "too_many_requests"
				repeatable := ep.Idempotent() || throttled
				before := h.emu.Counters()

				// Round 0: every request at ep fails.
				h.log.clear()
				h.inject(ep, k.spec)
				var mutate func(*assure.Config)
				if throttled {
					// A 429 does not use up MaxAttempts: it is retried until
					// MaxElapsed.
					mutate = func(c *assure.Config) { c.Retry.MaxElapsed = 150 * time.Millisecond }
				}
				err := fx.call(ctx, h.newClient(mutate), ep, 0)
				h.noFaults()
				require.Error(t, err)
				assert.Equal(t, fault.Retry, fault.Of(err), "%v", err)
				attempts := h.log.of(ep)
				sent := h.total(ep) - sum(before.Requests[string(ep)])
				if throttled {
					assert.False(t, assure.IsOutcomeUnknown(err), "%v", err)
					assert.Contains(t, err.Error(), "giving up after")
					assert.Greater(t, len(attempts), maxAttempts, "throttling is waited out beyond MaxAttempts")
					assert.Equal(t, int64(len(attempts)), sent)
				} else if repeatable {
					assert.False(t, assure.IsOutcomeUnknown(err), "%v", err)
					assert.Contains(t, err.Error(), fmt.Sprintf("giving up after %d attempts", maxAttempts))
					assert.Len(t, attempts, maxAttempts)
					if k.name == "reset" && isGET(ep) {
						assert.GreaterOrEqual(t, sent, int64(maxAttempts))
						assert.LessOrEqual(t, sent, int64(maxAttempts+1), "net/http repeats a reset GET at most once, on a reused connection")
					} else {
						assert.Equal(t, int64(maxAttempts), sent)
					}
				} else {
					assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
					assert.Len(t, attempts, 1)
					assert.Equal(t, int64(1), sent, "never repeated")
				}
				for _, a := range attempts {
					assert.Error(t, a.Err)
				}
				switch k.name {
				case "server_error":
					assert.Contains(t, []int{500, 502, 503}, assure.StatusCodeOf(err))
				case "too_many_requests":
					assert.Equal(t, 429, assure.StatusCodeOf(err))
				default:
					var te *assure.TransportError
					require.ErrorAs(t, err, &te)
					assert.True(t, te.Sent)
					assert.Zero(t, assure.StatusCodeOf(err))
				}
				after := h.emu.Counters()
				if k.fault != "" {
					assert.Equal(t, sent, after.Faults[k.fault]-before.Faults[k.fault])
				} else { // resets alternate: before the handler, after it
					resets := func(c emulator.Counters) int64 {
						return c.Faults[emulator.FaultKindResetBeforeHandler] + c.Faults[emulator.FaultKindResetAfterHandler]
					}
					assert.Equal(t, sent, resets(after)-resets(before))
					assert.Equal(t, sent, after.Requests[string(ep)]["reset"]-before.Requests[string(ep)]["reset"])
				}
				// What the failed call changed: only a truncated answer (or a
				// reset after the handler) comes after the handler ran.
				applied := int64(0)
				if k.name == "truncate" {
					applied = 1
				}
				switch ep {
				case assure.EndpointCreateDossier:
					assert.Equal(t, applied, after.DossiersCreated-before.DossiersCreated)
				case assure.EndpointCreateProcess:
					assert.Equal(t, applied, after.ProcessesCreated-before.ProcessesCreated)
				case assure.EndpointStartVerification:
					assert.Equal(t, applied, after.VerificationsStarted-before.VerificationsStarted)
					assert.Equal(t, applied, after.StartRequests[fx.pending[0]])
				}

				// Round 1: only the first attempt fails.
				h.log.clear()
				before = h.emu.Counters()
				h.inject(ep, k.spec)
				h.liftFaultsAfter(ep, 1)
				err = fx.call(ctx, h.newClient(nil), ep, 1)
				h.log.setHook(nil)
				h.noFaults()
				attempts = h.log.of(ep)
				if !repeatable {
					assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
					assert.Len(t, attempts, 1)
					return
				}
				require.NoError(t, err, "repeated after one failed attempt")
				require.Len(t, attempts, 2)
				assert.Error(t, attempts[0].Err)
				assert.Equal(t, 2, attempts[1].Number)
				if k.name == "truncate" && (ep == assure.EndpointDeleteDossier || ep == assure.EndpointDeleteProcess) {
					// The truncated attempt deleted it; the repeat finds
					// nothing (see TestContractRepeatedDeleteAfterLostAnswer).
					assert.Equal(t, 404, attempts[1].StatusCode)
					return
				}
				assert.NoError(t, attempts[1].Err)
			})
		}
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestContractOutcomeUnknownCanBeReadBack: when a create or a start ends
// "outcome unknown", the client did not repeat it, and reading the state
// back tells the caller whether it happened. The emulator's resets alternate
// between before the handler (not applied) and after it (applied).
func TestContractOutcomeUnknownCanBeReadBack(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client

	h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{Reset: 1})
	_, err := c.CreateDossier(ctx, "attempt-1", nil) // reset before the handler
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	_, err = c.CreateDossier(ctx, "attempt-2", nil) // reset after the handler
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	h.noFaults()
	ds, err := c.ListDossiers(ctx)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the second create happened, the first did not")
	assert.Equal(t, "attempt-2", ds[0].ExternalReference)
	assert.Equal(t, map[string]int64{"reset": 2}, h.requests(assure.EndpointCreateDossier))
	d := ds[0].DossierID

	h.inject(assure.EndpointCreateProcess, emulator.FaultSpec{ServerError: 1})
	_, err = c.CreateProcess(ctx, d, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	assert.Contains(t, []int{500, 502, 503}, assure.StatusCodeOf(err))
	h.inject(assure.EndpointCreateProcess, emulator.FaultSpec{Truncate: 1})
	_, err = c.CreateProcess(ctx, d, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	h.noFaults()
	dr, err := c.GetDossier(ctx, d)
	require.NoError(t, err)
	require.Len(t, dr.Processes, 1, "the truncated create happened, the 5xx one did not")
	p := dr.Processes[0].ProcessID
	assert.Equal(t, assure.StatusPending, dr.Processes[0].Status)

	require.NoError(t, c.SetImages(ctx, d, p, assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}))
	h.inject(assure.EndpointStartVerification, emulator.FaultSpec{Reset: 1})
	_, err = c.StartVerification(ctx, d, p, nil) // reset before the handler
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	got, err := c.GetProcess(ctx, d, p)
	require.NoError(t, err)
	assert.Equal(t, assure.StatusPending, got.Status, "not started: the caller may start again")
	assert.Zero(t, h.emu.Counters().StartRequests[p])
	_, err = c.StartVerification(ctx, d, p, nil) // reset after the handler
	assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
	h.noFaults()
	got, err = c.GetProcess(ctx, d, p)
	require.NoError(t, err)
	assert.NotEqual(t, assure.StatusPending, got.Status, "started: the caller must not start again")
	final, err := awaitFinal(ctx, c, d, p)
	require.NoError(t, err)
	assert.Equal(t, assure.StatusAccepted, final.Status)
	cnt := h.emu.Counters()
	assert.Equal(t, int64(1), cnt.StartRequests[p])
	assert.Equal(t, int64(1), cnt.MaxStartRequestsPerProcess)
	assert.Equal(t, int64(1), cnt.VerificationsStarted)
}

// TestContractRepeatedDeleteAfterLostAnswer: a delete whose answer was lost
// after the API applied it (truncated answer, reset after the handler) is
// repeated, and the repeat's 404 means the first attempt did the job: the
// call succeeds. A 404 on a first attempt stays a Permanent error.
func TestContractRepeatedDeleteAfterLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec emulator.FaultSpec
		// failures before the fault is lifted: resets alternate before and
		// after the handler, so the second one is the applied one.
		failures int
	}{
		{"truncated answer", emulator.FaultSpec{Truncate: 1}, 1},
		{"reset after the handler", emulator.FaultSpec{Reset: 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			ctx := context.Background()
			c := h.client
			d, err := c.CreateDossier(ctx, "doomed", nil)
			require.NoError(t, err)
			pr, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
			require.NoError(t, err)

			h.inject(assure.EndpointDeleteProcess, tc.spec)
			h.liftFaultsAfter(assure.EndpointDeleteProcess, tc.failures)
			require.NoError(t, c.DeleteProcess(ctx, d.DossierID, pr.ProcessID), "deleted by an attempt whose answer was lost")
			attempts := h.log.of(assure.EndpointDeleteProcess)
			require.Len(t, attempts, tc.failures+1)
			assert.Equal(t, 404, attempts[tc.failures].StatusCode, "the repeat found nothing left to delete")
			assert.Equal(t, int64(1), h.emu.Counters().ProcessesDeleted)

			h.inject(assure.EndpointDeleteDossier, tc.spec)
			h.liftFaultsAfter(assure.EndpointDeleteDossier, tc.failures)
			require.NoError(t, c.DeleteDossier(ctx, d.DossierID))
			attempts = h.log.of(assure.EndpointDeleteDossier)
			require.Len(t, attempts, tc.failures+1)
			assert.Equal(t, 404, attempts[tc.failures].StatusCode)
			assert.Zero(t, h.emu.Counters().DossiersLive)

			// Without a lost answer, a 404 is still the caller's error.
			h.log.setHook(nil)
			err = c.DeleteDossier(ctx, d.DossierID)
			assertProblem(t, err, fault.Record, 404, "Not Found", "Dossier not found.")
			err = c.DeleteProcess(ctx, d.DossierID, pr.ProcessID)
			assertProblem(t, err, fault.Record, 404, "Not Found", "Dossier not found.")
		})
	}
}

// TestContractConcurrentRecords runs 200 records through one client and the
// emulator at once: create dossier → create process → set images → start →
// poll to final → delete dossier, with faults on the polls. Run with -race.
func TestContractConcurrentRecords(t *testing.T) {
	const n = 200
	h := newHarness(t, func(c *emulator.Config) {
		// 200 goroutines on a loaded 2-core machine may take longer than
		// an emulated hour (3.6 s) between upload and start. The expiry
		// rule has its own test.
		c.TransactionExpiry = 30 * 24 * time.Hour
		c.Faults = emulator.Faults{Seed: 7, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
			assure.EndpointGetProcess: {ServerError: 0.05, TooManyRequests: 0.05, Reset: 0.02, Truncate: 0.02},
		}}
	})
	type variant struct {
		imgs   assure.Images
		status assure.Status
		reason string
	}
	holder := seedHolder()
	minor := seedHolder()
	minor.DateOfBirth = day(time.Now().AddDate(-16, 0, 0))
	expired := seedHolder()
	expired.DateOfExpiry = day(time.Now().AddDate(-1, 0, 0))
	variants := []variant{
		{assure.Images{Front: img(testimage.FrontJPEG(t, holder)), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData(holder.PersonID, false)))}, assure.StatusAccepted, ""},
		{assure.Images{Front: img(testimage.FrontJPEG(t, minor)), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData(holder.PersonID, false)))}, assure.StatusRejected, "NotUnderage"},
		{assure.Images{Front: img(testimage.FrontJPEG(t, expired)), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData(holder.PersonID, false)))}, assure.StatusInconclusive, "NonExpired"},
		{assure.Images{Front: img(testimage.FrontJPEG(t, holder)), Selfie: img(testimage.SelfieJPEG(t, testimage.SelfieData("person-2", true)))}, assure.StatusInconclusive, "SimilarityLevel"},
	}
	c := h.client
	run := func(ctx context.Context, i int) (*assure.Process, error) {
		v := variants[i%len(variants)]
		d, err := c.CreateDossier(ctx, fmt.Sprintf("record-%03d", i), nil)
		if err != nil {
			return nil, err
		}
		pr, err := c.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocumentSelfie, DocumentID: 137}, nil)
		if err != nil {
			return nil, err
		}
		if pr.DocumentPages != 1 {
			return nil, fmt.Errorf("documentPages %d", pr.DocumentPages)
		}
		if err := c.SetImages(ctx, d.DossierID, pr.ProcessID, v.imgs); err != nil {
			return nil, err
		}
		if _, err := c.StartVerification(ctx, d.DossierID, pr.ProcessID, nil); err != nil {
			return nil, err
		}
		p, err := awaitFinal(ctx, c, d.DossierID, pr.ProcessID)
		if err != nil {
			return nil, err
		}
		return p, c.DeleteDossier(ctx, d.DossierID)
	}
	results := make([]*assure.Process, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = run(context.Background(), i) })
	}
	wg.Wait()

	for i := range n {
		require.NoError(t, errs[i], "record %d", i)
		p, v := results[i], variants[i%len(variants)]
		require.True(t, p.Status.Final(), "record %d", i)
		assert.Equal(t, v.status, p.Status, "record %d", i)
		reason := ""
		if len(p.StatusReasons) > 0 {
			reason = p.StatusReasons[0].SubCategory
			if reason == "" {
				reason = p.StatusReasons[0].Category
			}
		}
		assert.Equal(t, v.reason, reason, "record %d", i)
	}
	cnt := h.emu.Counters()
	assert.Equal(t, int64(n), cnt.DossiersCreated)
	assert.Equal(t, int64(n), cnt.DossiersDeleted)
	assert.Zero(t, cnt.DossiersLive)
	assert.Equal(t, int64(n), cnt.ProcessesCreated)
	assert.Equal(t, int64(n), cnt.ProcessesDeleted)
	assert.Equal(t, int64(n), cnt.VerificationsStarted)
	assert.Len(t, cnt.StartRequests, n)
	assert.Equal(t, int64(1), cnt.MaxStartRequestsPerProcess, "no process was started twice")
	assert.Equal(t, int64(1), cnt.TokensIssued, "200 goroutines share one token")
	assert.Positive(t, cnt.Faults[emulator.FaultKindServerError]+cnt.Faults[emulator.FaultKindTooManyRequests]+
		cnt.Faults[emulator.FaultKindTruncate], "the polls met faults")
	retried := 0
	for _, a := range h.log.of(assure.EndpointGetProcess) {
		if a.Number > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "and the client retried them")
	ds, err := c.ListDossiers(context.Background())
	require.NoError(t, err)
	assert.Empty(t, ds)
}
