package source

import (
	"bytes"
	"fmt"
	"strings"
)

// jsonlParser parses the lines of a JSON Lines manifest: one JSON object per
// line, with the manifest columns as keys.
type jsonlParser struct{}

func (jsonlParser) parse(line []byte, n int) (row, bool) {
	rw := row{line: n, values: map[string]string{}}
	if len(bytes.TrimSpace(line)) == 0 {
		return rw, true
	}
	obj, err := decodeObject(line)
	if err != nil {
		rw.badf("line %d: %v", n, err)
		return rw, false
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case ColRecordID:
			s, kind, err := jsonScalar(v)
			if err != nil {
				rw.badf("line %d: %s: %v", n, k, err)
			} else if kind == kindString {
				s = strings.TrimSpace(s)
			}
			rw.values[k] = s
		case ColFront, ColBack, ColSelfie:
			s, err := jsonString(v)
			if err != nil {
				rw.badf("line %d: %s: %v", n, k, err)
			}
			rw.values[k] = strings.TrimSpace(s)
		case ColDocumentID:
			s, kind, _ := jsonScalar(v)
			if kind == kindOther {
				s = string(v) // the document ID check names the value
			}
			rw.values[k] = strings.TrimSpace(s)
		case ColProcessType, ColPreviousStatus:
			s, err := jsonString(v)
			if err != nil {
				rw.badMD = append(rw.badMD, fmt.Sprintf("line %d: %s: %v", n, k, err))
			}
			rw.values[k] = strings.TrimSpace(s)
		default:
			if s, ok := jsonMeta(v); ok {
				if rw.meta == nil {
					rw.meta = map[string]string{}
				}
				rw.meta[k] = s
			}
		}
	}
	return rw, false
}
