package assure

// Endpoint names one API operation. The names are Signicat's operationIds
// (plus "token" for the OAuth2 token endpoint); the client reports them to its
// observer, and the emulator's fault configuration is keyed by them.
type Endpoint string

// The endpoints of the PictureID direct-upload flow.
const (
	EndpointToken             Endpoint = "token"             // POST /auth/open/connect/token
	EndpointCreateDossier     Endpoint = "createDossier"     // POST /dossiers
	EndpointGetDossier        Endpoint = "getDossier"        // GET /dossiers/{dossierId}
	EndpointListDossiers      Endpoint = "getDossiers"       // GET /dossiers
	EndpointDeleteDossier     Endpoint = "deleteDossier"     // DELETE /dossiers/{dossierId}
	EndpointCreateProcess     Endpoint = "createProcess"     // POST /dossiers/{dossierId}/processes
	EndpointGetProcess        Endpoint = "getProcess"        // GET /dossiers/{dossierId}/processes/{processId}
	EndpointSetImages         Endpoint = "setImages"         // POST .../processes/{processId}/images
	EndpointGetImage          Endpoint = "getImages"         // GET .../processes/{processId}/images?depiction=
	EndpointStartVerification Endpoint = "startVerification" // POST /dossiers/{dossierId}/processes/{processId}
	EndpointDeleteProcess     Endpoint = "deleteProcess"     // DELETE /dossiers/{dossierId}/processes/{processId}
	EndpointDocumentTypes     Endpoint = "getDocumentTypes"  // GET /{provider}/document-types
	EndpointDownload          Endpoint = "getZipFile"        // GET .../processes/{processId}/download
	EndpointListProcesses     Endpoint = "getAllProcess"     // GET /processes
)

// Endpoints lists every endpoint, in flow order.
func Endpoints() []Endpoint {
	return []Endpoint{EndpointToken, EndpointCreateDossier, EndpointGetDossier, EndpointListDossiers,
		EndpointDeleteDossier, EndpointCreateProcess, EndpointGetProcess, EndpointSetImages,
		EndpointGetImage, EndpointStartVerification, EndpointDeleteProcess,
		EndpointDocumentTypes, EndpointDownload, EndpointListProcesses,
	}
}

// Path is the endpoint's path template (no ids, no query values): what a
// log line may name.
func (e Endpoint) Path() string {
	switch e {
	case EndpointToken:
		return "/auth/open/connect/token"
	case EndpointCreateDossier, EndpointListDossiers:
		return "/dossiers"
	case EndpointGetDossier, EndpointDeleteDossier:
		return "/dossiers/{dossierId}"
	case EndpointCreateProcess:
		return "/dossiers/{dossierId}/processes"
	case EndpointGetProcess, EndpointStartVerification, EndpointDeleteProcess:
		return "/dossiers/{dossierId}/processes/{processId}"
	case EndpointSetImages, EndpointGetImage:
		return "/dossiers/{dossierId}/processes/{processId}/images"
	case EndpointDocumentTypes:
		return "/{provider}/document-types"
	case EndpointDownload:
		return "/dossiers/{dossierId}/processes/{processId}/download"
	case EndpointListProcesses:
		return "/processes"
	}
	return "/" + string(e)
}

// Idempotent reports whether repeating the call cannot change more than one
// call would: reads, deletes and set images (the last upload of a depiction
// wins). Create dossier, create process and start verification are not.
func (e Endpoint) Idempotent() bool {
	switch e {
	case EndpointCreateDossier, EndpointCreateProcess, EndpointStartVerification:
		return false
	}
	return true
}
