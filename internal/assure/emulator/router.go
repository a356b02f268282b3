package emulator

import (
	"net/http"
	"strings"

	"reverify/internal/assure"
)

// handler serves one endpoint. It returns an *apiError for documented
// errors; any other error is answered 500.
type handler func(e *Emulator, w http.ResponseWriter, r *http.Request, p params) error

// params are the path parameters of a request.
type params struct {
	dossierID string
	processID string
	provider  string
}

// Route prefixes.
const (
	tokenPath   = "/auth/open/connect/token"
	assurePath  = "/assure"
	adminPrefix = "/_emulator/"
)

type methodRoute struct {
	method   string
	endpoint assure.Endpoint
	handle   handler
}

// match finds the endpoint of a request. known is false for unknown paths;
// for a known path with another method, ok is false and allow lists the
// methods of the path.
func match(method, path string) (mr methodRoute, p params, known, ok bool, allow []string) {
	var routes []methodRoute
	switch {
	case path == tokenPath:
		routes = []methodRoute{{http.MethodPost, assure.EndpointToken, (*Emulator).token}}
	case strings.HasPrefix(path, assurePath+"/"):
		routes, p = matchAssure(strings.Split(strings.Trim(path[len(assurePath):], "/"), "/"))
	}
	if routes == nil {
		return methodRoute{}, p, false, false, nil
	}
	for _, r := range routes {
		if r.method == method {
			return r, p, true, true, nil
		}
		allow = append(allow, r.method)
	}
	return methodRoute{}, p, true, false, allow
}

// matchAssure matches the path segments below /assure.
func matchAssure(s []string) ([]methodRoute, params) {
	for _, seg := range s {
		if seg == "" {
			return nil, params{}
		}
	}
	var p params
	n := len(s)
	if n >= 2 && s[0] == "dossiers" {
		p.dossierID = s[1]
	}
	if n >= 4 && s[0] == "dossiers" && s[2] == "processes" {
		p.processID = s[3]
	}
	switch {
	case n == 1 && s[0] == "dossiers":
		return []methodRoute{
			{http.MethodPost, assure.EndpointCreateDossier, (*Emulator).createDossier},
			{http.MethodGet, assure.EndpointListDossiers, (*Emulator).listDossiers},
		}, p
	case n == 1 && s[0] == "processes":
		return []methodRoute{{http.MethodGet, assure.EndpointListProcesses, (*Emulator).listProcesses}}, p
	case n == 2 && s[1] == "document-types":
		p.provider = s[0]
		return []methodRoute{{http.MethodGet, assure.EndpointDocumentTypes, (*Emulator).documentTypes}}, p
	case n == 2 && s[0] == "dossiers":
		return []methodRoute{
			{http.MethodGet, assure.EndpointGetDossier, (*Emulator).getDossier},
			{http.MethodDelete, assure.EndpointDeleteDossier, (*Emulator).deleteDossier},
		}, p
	case n == 3 && s[0] == "dossiers" && s[2] == "processes":
		return []methodRoute{{http.MethodPost, assure.EndpointCreateProcess, (*Emulator).createProcess}}, p
	case n == 4 && s[0] == "dossiers" && s[2] == "processes":
		return []methodRoute{
			{http.MethodGet, assure.EndpointGetProcess, (*Emulator).getProcess},
			{http.MethodPost, assure.EndpointStartVerification, (*Emulator).startVerification},
			{http.MethodDelete, assure.EndpointDeleteProcess, (*Emulator).deleteProcess},
		}, p
	case n == 5 && s[0] == "dossiers" && s[2] == "processes" && s[4] == "images":
		return []methodRoute{
			{http.MethodPost, assure.EndpointSetImages, (*Emulator).setImages},
			{http.MethodGet, assure.EndpointGetImage, (*Emulator).getImage},
		}, p
	case n == 5 && s[0] == "dossiers" && s[2] == "processes" && s[4] == "download":
		return []methodRoute{{http.MethodGet, assure.EndpointDownload, (*Emulator).download}}, p
	}
	return nil, params{}
}
