package config

import "strings"

// FieldError is one problem with one configuration field. Field is the
// dotted key (api.rate) or, for an unknown environment variable, the
// variable's name.
type FieldError struct {
	Field string
	Msg   string
}

// Error renders "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errors is every problem found in a configuration, in the order found. It
// renders one problem per line.
type Errors []FieldError

// Error renders one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Fields returns the field names in the order of the problems.
func (e Errors) Fields() []string {
	out := make([]string, len(e))
	for i, fe := range e {
		out[i] = fe.Field
	}
	return out
}

// err returns e as an error, or nil when it is empty.
func (e Errors) err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// add appends a problem.
func (e *Errors) add(field, msg string) { *e = append(*e, FieldError{Field: field, Msg: msg}) }
