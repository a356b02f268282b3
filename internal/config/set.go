package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Set sets the key named by its dotted path (api.rate, source.s3.endpoint,
// run.limit) from its text form, parsed per the field's type: integers,
// numbers, booleans (true/false), Go durations (250ms, 20s, 1h30m) and
// sizes (10MiB). REVERIFY_* environment variables and the command's flags
// both go through Set. The error names the key.
//
// Set after Load changes only that field: secrets are read, and run.run_id
// and run.shard derived, by Load. Pass flags to Load as Settings to have
// them take part in those steps.
func (c *Config) Set(key, value string) error {
	s := newSchema()
	l, ok := s.byKey[key]
	if !ok {
		return FieldError{Field: key, Msg: s.unknownKeyMsg(key)}
	}
	if err := parseInto(reflect.ValueOf(c).Elem().FieldByIndex(l.index), value); err != nil {
		return FieldError{Field: key, Msg: err.Error()}
	}
	return nil
}

// parseInto parses text into v according to v's type.
func parseInto(v reflect.Value, text string) error {
	switch v.Type() {
	case durationType:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("invalid duration %q (use a Go duration such as 250ms, 20s, 2m or 1h30m)", text)
		}
		v.SetInt(int64(d))
		return nil
	case sizeType:
		n, err := ParseSize(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
		return nil
	case rateType:
		r, err := ParseRate(text)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(r))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", text)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return fmt.Errorf("invalid integer %q", text)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("invalid number %q", text)
		}
		v.SetFloat(f)
	default:
		// newSchema admits only the kinds above.
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
