package source

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"sort"
	"strings"

	"reverify/internal/blob"
)

// maxMetaBytes bounds a meta.json file.
const maxMetaBytes = 64 << 10

// Keys of meta.json with a meaning; every other key becomes Record.Meta.
//
// The previous status is spelled previous_status, as the manifest column
// (ColPreviousStatus) and as `batch specimen` writes it; previousStatus,
// the spelling documented first, is read as an alias. Both in one file must
// agree.
const (
	metaDocumentID          = "documentId"
	metaProcessType         = "processType"
	metaPreviousStatus      = ColPreviousStatus
	metaPreviousStatusAlias = "previousStatus"
)

// metaFields are the known fields of a meta.json, as text ("" when absent,
// null or empty).
type metaFields struct {
	documentID, processType, previousStatus string
}

// readMeta reads and parses a record folder's meta.json. Unusable content
// is a bad_metadata problem on r; only infrastructure failures are errors.
func (a *Archive) readMeta(ctx context.Context, st blob.Store, key string, r *Record) (metaFields, error) {
	var m metaFields
	uri := st.KeyURI(key)
	b, err := st.Get(ctx, key, maxMetaBytes)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		r.addProblem(CodeBadMetadata, "", "%s disappeared while listing", uri)
		return m, nil
	case errors.Is(err, blob.ErrTooLarge):
		r.addProblem(CodeBadMetadata, "", "%s is larger than %d KiB", uri, maxMetaBytes>>10)
		return m, nil
	case err != nil:
		return m, a.storeErr(ctx, "read "+uri, err)
	}
	obj, err := decodeObject(trimBOM(b))
	if err != nil {
		r.addProblem(CodeBadMetadata, "", "%s: %v", uri, err)
		return m, nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var previous, previousAlias string
	for _, k := range keys {
		v := obj[k]
		var err error
		switch k {
		case metaDocumentID:
			var kind string
			if m.documentID, kind, err = jsonScalar(v); kind == kindOther {
				// Let the document ID check name the value.
				m.documentID, err = string(v), nil
			}
		case metaProcessType:
			m.processType, err = jsonString(v)
		case metaPreviousStatus:
			previous, err = jsonString(v)
		case metaPreviousStatusAlias:
			previousAlias, err = jsonString(v)
		default:
			if s, ok := jsonMeta(v); ok {
				r.setMeta(k, s)
			}
		}
		if err != nil {
			r.addProblem(CodeBadMetadata, "", "%s: %s: %v", uri, k, err)
		}
	}
	m.previousStatus = cmp.Or(previous, previousAlias)
	if previous != "" && previousAlias != "" && !strings.EqualFold(strings.TrimSpace(previous), strings.TrimSpace(previousAlias)) {
		r.addProblem(CodeBadMetadata, "", "%s: %s %q and its alias %s %q disagree: keep one",
			uri, metaPreviousStatus, clip(previous), metaPreviousStatusAlias, clip(previousAlias))
	}
	return m, nil
}

// trimBOM drops a UTF-8 byte order mark.
func trimBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, utf8BOM)
}
