package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes. In YAML, environment variables and flags it is
// a whole number of bytes (1048576) or a whole number followed by a binary
// unit: B, KiB, MiB, GiB or TiB (10MiB, 512 KiB). Fractions (1.5GiB),
// decimal units (MB) and negative sizes are refused: write 1536MiB.
type Size int64

// Binary units a Size accepts.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

// sizeUnits lists the units from the largest down, the order String uses.
func sizeUnits() []struct {
	name string
	mult Size
} {
	return []struct {
		name string
		mult Size
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}
}

// ParseSize parses a size such as "10MiB", "512 KiB" or "1048576". Unit
// names are case-insensitive.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		switch {
		case t == "":
			return 0, fmt.Errorf("empty size")
		case strings.HasPrefix(t, "-"):
			return 0, fmt.Errorf("invalid size %q: must not be negative", s)
		}
		return 0, fmt.Errorf("invalid size %q: want bytes or a whole number with KiB, MiB, GiB or TiB", s)
	}
	if strings.HasPrefix(unit, ".") || strings.HasPrefix(unit, ",") {
		return 0, fmt.Errorf("invalid size %q: fractions are not supported (write 1536MiB, not 1.5GiB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	mult := Size(0)
	if unit == "" {
		mult = 1
	}
	for _, u := range sizeUnits() {
		if strings.EqualFold(unit, u.name) {
			mult = u.mult
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB, GiB or TiB)", s, unit)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n) * mult, nil
}

// String renders the size with the largest unit that divides it exactly
// ("10MiB"), or as plain bytes ("1000"). ParseSize reads it back.
func (s Size) String() string {
	if s <= 0 {
		return strconv.FormatInt(int64(s), 10)
	}
	for _, u := range sizeUnits() {
		if u.mult > 1 && s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Bytes returns the size as an int64.
func (s Size) Bytes() int64 { return int64(s) }

// MarshalText renders the size as String does (YAML output uses it).
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the size as ParseSize does.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
