package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rate is api.rate: requests per second, or auto (an adaptive rate that
// finds the API's quota between 0 and api.max_rate). YAML, environment
// variables and flags write it the same way: 20, 2.5 or auto.
type Rate struct {
	// PerSecond is the fixed rate (when not Auto).
	PerSecond float64
	// Auto selects the adaptive rate.
	Auto bool
}

// RateAuto is the text of the adaptive rate.
const RateAuto = "auto"

// ParseRate parses a rate: a number of requests per second, or auto (any
// case). Its sign is checked by Validate, so that the error names what was
// given.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, RateAuto) {
		return Rate{Auto: true}, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Rate{}, fmt.Errorf("invalid rate %q (a number of requests per second, or auto)", s)
	}
	return Rate{PerSecond: f}, nil
}

// String is the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.Auto {
		return RateAuto
	}
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64)
}

// MarshalYAML renders a fixed rate as a number and the adaptive one as auto
// (--print-config).
func (r Rate) MarshalYAML() (any, error) {
	if r.Auto {
		return RateAuto, nil
	}
	return r.PerSecond, nil
}
