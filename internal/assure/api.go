package assure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// CreateDossier creates a dossier (POST /dossiers). Once the request may
// have reached the API it is sent again only when find (may be nil) shows
// the dossier was not made — typically by looking it up by its
// externalReference; else an *OutcomeUnknownError ends the call.
func (c *Client) CreateDossier(ctx context.Context, externalReference string, find ReadBack[Dossier]) (*Dossier, error) {
	body, err := jsonBody(CreateDossierRequest{ExternalReference: externalReference})
	if err != nil {
		return nil, fmt.Errorf("createDossier: %w", err)
	}
	var found *Dossier
	d, _, err := callJSON[Dossier](ctx, c, request{ep: EndpointCreateDossier, method: http.MethodPost,
		path: "/dossiers", body: body, accept: []int{http.StatusCreated, http.StatusOK}, readBack: readBackInto(find, &found)})
	if err != nil {
		return nil, err
	}
	if found != nil {
		return found, nil
	}
	if d == nil || d.DossierID == "" {
		return nil, &OutcomeUnknownError{Endpoint: EndpointCreateDossier,
			Err: fmt.Errorf("answer without dossierId")}
	}
	return d, nil
}

// GetDossier reads a dossier and its processes (GET /dossiers/{dossierId}).
func (c *Client) GetDossier(ctx context.Context, dossierID string) (*DossierResponse, error) {
	p, err := pathEscape("dossiers", dossierID)
	if err != nil {
		return nil, fmt.Errorf("getDossier: %w", err)
	}
	d, _, err := callJSON[DossierResponse](ctx, c, request{ep: EndpointGetDossier, method: http.MethodGet,
		path: p, accept: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDossiers returns the API client's most recent dossiers (the API lists
// the last 100 that are not deleted; GET /dossiers).
func (c *Client) ListDossiers(ctx context.Context) ([]Dossier, error) {
	l, _, err := callJSON[[]Dossier](ctx, c, request{ep: EndpointListDossiers, method: http.MethodGet,
		path: "/dossiers", accept: []int{http.StatusOK, http.StatusNoContent}})
	if err != nil || l == nil {
		return nil, err
	}
	return *l, nil
}

// DeleteDossier deletes a dossier with all its processes and data
// (DELETE /dossiers/{dossierId}). A 404 is an error, except on a repeat after
// an attempt whose answer was lost (that attempt deleted it).
func (c *Client) DeleteDossier(ctx context.Context, dossierID string) error {
	_, err := c.DeleteDossierEvidence(ctx, dossierID)
	return err
}

// Deletion is what the API answered to a dossier's deletion: the evidence an
// auditor asks for (no personal data).
type Deletion struct {
	// Status is the HTTP status of the answer that settled it: 204 (or 200)
	// deleted, 404 already gone — also when a repeat found gone what a
	// first send whose answer was lost had deleted.
	Status int
	// TraceID is the API's traceId, when the answer had one (error bodies).
	TraceID string
}

// DeleteDossierEvidence is DeleteDossier, returning the answer that settled
// it; on an error, the status and traceId of the API's answer, if any (a 404
// is an error here as in DeleteDossier: the caller decides what gone means).
func (c *Client) DeleteDossierEvidence(ctx context.Context, dossierID string) (Deletion, error) {
	p, err := pathEscape("dossiers", dossierID)
	if err != nil {
		return Deletion{}, fmt.Errorf("deleteDossier: %w", err)
	}
	resp, err := c.do(ctx, request{ep: EndpointDeleteDossier, method: http.MethodDelete, path: p,
		accept: []int{http.StatusNoContent, http.StatusOK}, goneIsDone: true})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return Deletion{Status: ae.StatusCode, TraceID: ae.Body.TraceID}, err
		}
		return Deletion{}, err
	}
	return Deletion{Status: resp.status, TraceID: resp.traceID}, nil
}

// CreateProcess creates a verification process in a dossier
// (POST /dossiers/{dossierId}/processes). For PictureID the answer's
// DocumentPages says whether a back image is needed. Once the request may
// have reached the API it is sent again only when clear (may be nil) shows
// that it was not applied, or undid it (see ReadBack); else an
// *OutcomeUnknownError ends the call.
func (c *Client) CreateProcess(ctx context.Context, dossierID string, req CreateProcessRequest, clear ReadBack[ProcessResponse]) (*ProcessResponse, error) {
	p, err := pathEscape("dossiers", dossierID, "processes")
	if err != nil {
		return nil, fmt.Errorf("createProcess: %w", err)
	}
	if req.Provider == "" {
		req.Provider = ProviderPictureID
	}
	body, err := jsonBody(req)
	if err != nil {
		return nil, fmt.Errorf("createProcess: %w", err)
	}
	var found *ProcessResponse
	pr, _, err := callJSON[ProcessResponse](ctx, c, request{ep: EndpointCreateProcess, method: http.MethodPost,
		path: p, body: body, accept: []int{http.StatusCreated, http.StatusOK}, readBack: readBackInto(clear, &found)})
	if err != nil {
		return nil, err
	}
	if found != nil {
		return found, nil
	}
	if pr == nil || pr.ProcessID == "" {
		return nil, &OutcomeUnknownError{Endpoint: EndpointCreateProcess, Err: fmt.Errorf("answer without processId")}
	}
	return pr, nil
}

// SetImages uploads images of a process as data URLs
// (POST /dossiers/{dossierId}/processes/{processId}/images). Uploading a
// depiction again replaces it, so this call is retried like a read.
func (c *Client) SetImages(ctx context.Context, dossierID, processID string, imgs Images) error {
	p, err := pathEscape("dossiers", dossierID, "processes", processID, "images")
	if err != nil {
		return fmt.Errorf("setImages: %w", err)
	}
	body, err := imagesBody(imgs)
	if err != nil {
		return fmt.Errorf("setImages: %w", err)
	}
	_, err = c.do(ctx, request{ep: EndpointSetImages, method: http.MethodPost, path: p, body: body,
		accept: []int{http.StatusCreated, http.StatusOK, http.StatusNoContent}})
	return err
}

// StartVerification starts the verification of a process (a bare POST on
// the process). Once the request may have reached the API it is sent again
// only when confirm (may be nil) shows it did not start — typically by
// reading the process: any status but pending means it started; else an
// *OutcomeUnknownError ends the call.
func (c *Client) StartVerification(ctx context.Context, dossierID, processID string, confirm ReadBack[VerifyResponse]) (*VerifyResponse, error) {
	p, err := pathEscape("dossiers", dossierID, "processes", processID)
	if err != nil {
		return nil, fmt.Errorf("startVerification: %w", err)
	}
	body, _ := jsonBody(struct{}{})
	var found *VerifyResponse
	v, _, err := callJSON[VerifyResponse](ctx, c, request{ep: EndpointStartVerification, method: http.MethodPost,
		path: p, body: body, accept: []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent},
		readBack: readBackInto(confirm, &found)})
	if err != nil {
		return nil, err
	}
	if found != nil {
		return found, nil
	}
	if v == nil { // 204: started, no body
		v = &VerifyResponse{ProcessID: processID, Status: StatusProcessing}
	}
	return v, nil
}

// GetProcess reads a process and, once final, its result
// (GET /dossiers/{dossierId}/processes/{processId}). Process.Raw holds the
// answer as sent.
func (c *Client) GetProcess(ctx context.Context, dossierID, processID string) (*Process, error) {
	p, err := pathEscape("dossiers", dossierID, "processes", processID)
	if err != nil {
		return nil, fmt.Errorf("getProcess: %w", err)
	}
	pr, resp, err := callJSON[Process](ctx, c, request{ep: EndpointGetProcess, method: http.MethodGet,
		path: p, accept: []int{http.StatusOK}, maxBody: 16 << 20})
	if err != nil {
		return nil, err
	}
	pr.Raw = json.RawMessage(resp.body)
	return pr, nil
}

// DecodeProcess decodes a GET process answer kept verbatim (Process.Raw),
// as GetProcess does.
func DecodeProcess(raw []byte) (*Process, error) {
	var p Process
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode process: %w", err)
	}
	p.Raw = append(json.RawMessage(nil), raw...)
	return &p, nil
}

// GetImage downloads one stored image of a process
// (GET .../images?depiction=front|back|selfie|portrait).
func (c *Client) GetImage(ctx context.Context, dossierID, processID, depiction string) ([]byte, error) {
	p, err := pathEscape("dossiers", dossierID, "processes", processID, "images")
	if err != nil {
		return nil, fmt.Errorf("getImages: %w", err)
	}
	resp, err := c.do(ctx, request{ep: EndpointGetImage, method: http.MethodGet, path: p,
		query: url.Values{"depiction": {depiction}}, accept: []int{http.StatusOK}, maxBody: 64 << 20})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// DocumentTypes lists the documents a provider accepts
// (GET /{provider}/document-types); the API answers 204 when there are none.
func (c *Client) DocumentTypes(ctx context.Context, provider string) ([]DocumentType, error) {
	if provider == "" {
		provider = ProviderPictureID
	}
	p, err := pathEscape(provider, "document-types")
	if err != nil {
		return nil, fmt.Errorf("getDocumentTypes: %w", err)
	}
	l, _, err := callJSON[[]DocumentType](ctx, c, request{ep: EndpointDocumentTypes, method: http.MethodGet,
		path: p, accept: []int{http.StatusOK, http.StatusNoContent}})
	if err != nil || l == nil {
		return nil, err
	}
	return *l, nil
}

// DownloadResult downloads the full-result zip of a final process
// (GET .../download). ready is false while the API answers 204 (not
// completed, or no zip for this outcome).
func (c *Client) DownloadResult(ctx context.Context, dossierID, processID string) (zip []byte, ready bool, err error) {
	p, err := pathEscape("dossiers", dossierID, "processes", processID, "download")
	if err != nil {
		return nil, false, fmt.Errorf("getZipFile: %w", err)
	}
	resp, err := c.do(ctx, request{ep: EndpointDownload, method: http.MethodGet, path: p,
		accept: []int{http.StatusOK, http.StatusNoContent}, maxBody: 256 << 20})
	if err != nil {
		return nil, false, err
	}
	if resp.status == http.StatusNoContent {
		return nil, false, nil
	}
	return resp.body, true, nil
}

// DeleteProcess deletes a process (DELETE /dossiers/{dossierId}/processes/{processId}).
// A 404 is an error, except on a repeat after an attempt whose answer was
// lost (that attempt deleted it).
func (c *Client) DeleteProcess(ctx context.Context, dossierID, processID string) error {
	p, err := pathEscape("dossiers", dossierID, "processes", processID)
	if err != nil {
		return fmt.Errorf("deleteProcess: %w", err)
	}
	_, err = c.do(ctx, request{ep: EndpointDeleteProcess, method: http.MethodDelete, path: p,
		accept: []int{http.StatusNoContent, http.StatusOK}, goneIsDone: true})
	return err
}

// ProcessQuery filters GET /processes. The API covers the last 30 days.
type ProcessQuery struct {
	// Start is required: processes created at or after it.
	Start time.Time
	// End, when set: processes created before it.
	End time.Time
	// Statuses, when set, keeps only these statuses.
	Statuses []Status
	// Offset (0..200000) and Limit (1..2000, API default 100).
	Offset, Limit int
	// Order is "createdAtDescending" (API default) or empty.
	Order string
}

// ListProcesses reads one page of the processes of the API client (GET /processes).
func (c *Client) ListProcesses(ctx context.Context, q ProcessQuery) (*ProcessList, error) {
	if q.Start.IsZero() {
		return nil, fmt.Errorf("getAllProcess: a start creation date is required")
	}
	v := url.Values{"startCreationDate": {q.Start.UTC().Format(TimeLayout)}}
	if !q.End.IsZero() {
		v.Set("endCreationDate", q.End.UTC().Format(TimeLayout))
	}
	for _, s := range q.Statuses {
		v.Add("status", string(s))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Order != "" {
		v.Set("order", q.Order)
	}
	l, _, err := callJSON[ProcessList](ctx, c, request{ep: EndpointListProcesses, method: http.MethodGet,
		path: "/processes", query: v, accept: []int{http.StatusOK}, maxBody: 64 << 20})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// EachProcess pages through GET /processes (Limit per page, default 500) and
// calls fn for every process until the list ends, fn fails or the API's
// offset limit (200,000) is reached.
func (c *Client) EachProcess(ctx context.Context, q ProcessQuery, fn func(ListedProcess) error) error {
	const maxOffset = 200_000
	if q.Limit <= 0 {
		q.Limit = 500
	}
	for {
		page, err := c.ListProcesses(ctx, q)
		if err != nil {
			return err
		}
		for _, p := range page.Processes {
			if err := fn(p); err != nil {
				return err
			}
		}
		q.Offset += len(page.Processes)
		if len(page.Processes) < q.Limit || (page.TotalResults > 0 && q.Offset >= page.TotalResults) {
			return nil
		}
		if q.Offset > maxOffset {
			return fmt.Errorf("getAllProcess: more than %d processes match; narrow the time window", maxOffset)
		}
	}
}
