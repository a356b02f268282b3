package specimen

// DocumentType is one entry of the emulator's document-types fixture.
type DocumentType struct {
	ID      int    // documentId
	Country string // ISO 3166-1 alpha-3, also the holder's nationality
	Type    string // passport, identityCard, driversLicense
	Pages   int    // 1: front only; 2: front and back
}

// Document types as used by the Assure API.
const (
	TypePassport       = "passport"
	TypeIdentityCard   = "identityCard"
	TypeDriversLicense = "driversLicense"
)

// documentTable mirrors the emulator's document-types fixture. Never mutated.
var documentTable = [...]DocumentType{
	{137, "NLD", TypePassport, 1},
	{136, "NLD", TypeIdentityCard, 2},
	{222, "NOR", TypePassport, 1},
	{271, "NOR", TypeDriversLicense, 2},
	{191, "DEU", TypeIdentityCard, 2},
	{58, "PRT", TypeIdentityCard, 2},
	{100, "SWE", TypePassport, 1},
	{101, "GBR", TypeDriversLicense, 2},
}

// Documents returns the document types the generator uses.
func Documents() []DocumentType {
	out := make([]DocumentType, len(documentTable))
	copy(out, documentTable[:])
	return out
}

// DocumentByID returns the document type of a documentId.
func DocumentByID(id int) (DocumentType, bool) {
	for _, d := range documentTable {
		if d.ID == id {
			return d, true
		}
	}
	return DocumentType{}, false
}

// title is the heading printed on the document.
func (d DocumentType) title() string {
	switch d.Type {
	case TypePassport:
		return "PASSPORT"
	case TypeIdentityCard:
		return "IDENTITY CARD"
	default:
		return "DRIVING LICENCE"
	}
}

// country holds the synthetic name pools of one issuing country.
type country struct {
	code   string
	name   string // printed on the document
	male   []string
	female []string
	last   []string
	cities []string
	hue    float64 // dominant hue of its documents, degrees
}

// countryTable holds every issuing country of documentTable. Never mutated.
var countryTable = [...]country{
	{"NLD", "KONINKRIJK DER NEDERLANDEN",
		[]string{"JAN", "PIETER", "DAAN", "SEM", "BRAM", "LUUK", "THIJS", "JOOST", "KEES", "RUUD"},
		[]string{"WILLEKE", "LISELOTTE", "SANNE", "FLEUR", "ANOUK", "INGE", "MAAIKE", "FEMKE", "NOOR", "EVA"},
		[]string{"DE BRUIJN", "JANSEN", "DE VRIES", "VAN DIJK", "BAKKER", "VISSER", "SMIT", "MEIJER", "MULDER", "VAN DEN BERG"},
		[]string{"ROTTERDAM", "AMSTERDAM", "UTRECHT", "GRONINGEN", "DELFT", "ZWOLLE", "HAARLEM", "TILBURG"},
		12},
	{"NOR", "KONGERIKET NORGE",
		[]string{"OLE", "LARS", "MAGNUS", "HENRIK", "SINDRE", "TORE", "EIRIK", "KNUT", "ARNE", "JONAS"},
		[]string{"INGRID", "KARI", "SOLVEIG", "SIGRID", "TONE", "MARIT", "HEGE", "SILJE", "LIV", "NORA"},
		[]string{"HANSEN", "JOHANSEN", "OLSEN", "LARSEN", "ANDERSEN", "PEDERSEN", "NILSEN", "BERG", "HAUGEN", "DAHL"},
		[]string{"OSLO", "BERGEN", "TRONDHEIM", "STAVANGER", "TROMSO", "BODO", "DRAMMEN", "ALESUND"},
		350},
	{"DEU", "BUNDESREPUBLIK DEUTSCHLAND",
		[]string{"LUKAS", "JONAS", "FELIX", "MAXIMILIAN", "TOBIAS", "STEFAN", "JURGEN", "KLAUS", "UWE", "FRANK"},
		[]string{"ANNA", "LENA", "SOPHIE", "KATHARINA", "JULIA", "SABINE", "MONIKA", "PETRA", "GABRIELE", "HANNA"},
		[]string{"MULLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER", "SCHULZ", "HOFFMANN"},
		[]string{"BERLIN", "HAMBURG", "MUNCHEN", "KOLN", "LEIPZIG", "DRESDEN", "BREMEN", "HANNOVER"},
		165},
	{"PRT", "REPUBLICA PORTUGUESA",
		[]string{"JOAO", "TIAGO", "RUI", "NUNO", "PEDRO", "MIGUEL", "ANTONIO", "JOSE", "ANDRE", "LUIS"},
		[]string{"MARIA", "ANA", "BEATRIZ", "INES", "CATARINA", "MARTA", "SOFIA", "RITA", "JOANA", "FILIPA"},
		[]string{"SILVA", "SANTOS", "FERREIRA", "PEREIRA", "OLIVEIRA", "COSTA", "RODRIGUES", "MARTINS", "SOUSA", "GOMES"},
		[]string{"LISBOA", "PORTO", "BRAGA", "COIMBRA", "FARO", "AVEIRO", "EVORA", "FUNCHAL"},
		135},
	{"SWE", "KONUNGARIKET SVERIGE",
		[]string{"ERIK", "ANDERS", "JOHAN", "KARL", "NILS", "OSKAR", "GUSTAV", "AXEL", "MATS", "PER"},
		[]string{"ASTRID", "ELSA", "KARIN", "MAJA", "EBBA", "LINNEA", "FRIDA", "ANNIKA", "BRITT", "SARA"},
		[]string{"ANDERSSON", "JOHANSSON", "KARLSSON", "NILSSON", "ERIKSSON", "LARSSON", "OLSSON", "PERSSON", "LINDBERG", "BERGSTROM"},
		[]string{"STOCKHOLM", "GOTEBORG", "MALMO", "UPPSALA", "LUND", "UMEA", "VASTERAS", "OREBRO"},
		215},
	{"GBR", "UNITED KINGDOM",
		[]string{"JAMES", "OLIVER", "HARRY", "GEORGE", "THOMAS", "WILLIAM", "JACK", "DAVID", "PAUL", "MARK"},
		[]string{"OLIVIA", "EMILY", "CHARLOTTE", "AMELIA", "SOPHIE", "GRACE", "LUCY", "HANNAH", "CLAIRE", "EMMA"},
		[]string{"SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT"},
		[]string{"LONDON", "LEEDS", "BRISTOL", "MANCHESTER", "YORK", "LIVERPOOL", "CARDIFF", "NORWICH"},
		330},
}

// countryByCode returns the name pools of an issuing country; every code of
// documentTable is present.
func countryByCode(code string) country {
	for _, c := range countryTable {
		if c.code == code {
			return c
		}
	}
	return countryTable[0]
}
