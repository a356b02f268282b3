package emulator

import (
	"net/http"

	"reverify/internal/assure"
)

// DocumentTypeFixture is one document type the emulator knows, with the
// number of pages (images: front, or front and back) it needs. Pages are
// internal: the API returns them only as documentPages on create process.
type DocumentTypeFixture struct {
	assure.DocumentType
	Pages int
}

// DocumentTypes is the emulator's fixed list of PictureID document types,
// in the order GET /signicatpictureid/document-types returns them.
func DocumentTypes() []DocumentTypeFixture {
	dt := func(id int, country, countryName, typ, name, icao string, pages int) DocumentTypeFixture {
		return DocumentTypeFixture{
			DocumentType: assure.DocumentType{ID: id, Country: country, CountryName: countryName, Type: typ, Name: name, ICAO: icao},
			Pages:        pages,
		}
	}
	return []DocumentTypeFixture{
		dt(137, "NLD", "Netherlands", "passport", "Netherlands passport", "TD3", 1),
		dt(136, "NLD", "Netherlands", "identityCard", "Netherlands identity card", "TD1", 2),
		dt(222, "NOR", "Norway", "passport", "Norway passport", "TD3", 1),
		dt(271, "NOR", "Norway", "driversLicense", "Norway driving licence", "TD1", 2),
		dt(191, "DEU", "Germany", "identityCard", "Germany identity card", "TD1", 2),
		dt(58, "PRT", "Portugal", "identityCard", "Portugal identity card", "TD1", 2),
		dt(100, "SWE", "Sweden", "passport", "Sweden passport", "TD3", 1),
		dt(101, "GBR", "United Kingdom", "driversLicense", "United Kingdom driving licence", "TD1", 2),
	}
}

// DocumentType looks up a document type of the fixture by id.
func DocumentType(id int) (DocumentTypeFixture, bool) {
	for _, d := range DocumentTypes() {
		if d.ID == id {
			return d, true
		}
	}
	return DocumentTypeFixture{}, false
}

// knownProviderWithoutTypes reports the providers of the getDocumentTypes path enum
// for which the emulator has no list (answered 204).
func knownProviderWithoutTypes(p string) bool {
	switch p {
	case "onfido", "signicatpaper", "signicatvideoid":
		return true
	}
	return false
}

// documentTypes serves GET /{providerName}/document-types.
func (e *Emulator) documentTypes(w http.ResponseWriter, r *http.Request, p params) error {
	switch {
	case p.provider == assure.ProviderPictureID:
		fix := DocumentTypes()
		out := make([]assure.DocumentType, len(fix))
		for i, d := range fix {
			out[i] = d.DocumentType
		}
		writeJSON(w, http.StatusOK, out)
	case knownProviderWithoutTypes(p.provider):
		w.WriteHeader(http.StatusNoContent)
	default:
		return badRequest("Unknown provider %q.", p.provider)
	}
	return nil
}
