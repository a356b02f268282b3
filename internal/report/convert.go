package report

import (
	"strings"
	"time"
)

// Helpers for filling a Row from API values.

const dateLayout = "2006-01-02"

// DateDays parses an API date (`YYYY-MM-DD`) into days since 1970-01-01,
// the value of a DATE column. It returns nil for an empty or invalid date, so
// that a malformed date becomes NULL rather than a wrong day.
func DateDays(s string) *int32 {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return nil
	}
	// A UTC midnight is an exact multiple of a day, also before 1970.
	return new(int32(t.Unix() / 86400))
}

// DaysDate renders a DATE column value as `YYYY-MM-DD`; "" for nil.
func DaysDate(days *int32) string {
	if days == nil {
		return ""
	}
	return time.Unix(int64(*days)*86400, 0).UTC().Format(dateLayout)
}

// Timestamp converts t into a TIMESTAMP column value: nil for the zero time,
// else t in UTC truncated to milliseconds.
func Timestamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return new(t.UTC().Truncate(time.Millisecond))
}

// DurationMS returns end-start in milliseconds, or nil when either is zero
// or end is before start.
func DurationMS(start, end time.Time) *int64 {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return nil
	}
	return new(end.Sub(start).Milliseconds())
}

// NonEmpty returns nil for "" and &s otherwise: for nullable string columns
// whose API field is omitted when empty.
func NonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OutcomeChanged compares the manifest's previous outcome with this run's
// outcome, ignoring case and surrounding space: nil when there is no previous
// outcome.
func OutcomeChanged(previous, outcome string) *bool {
	previous = strings.TrimSpace(previous)
	if previous == "" {
		return nil
	}
	return new(!strings.EqualFold(previous, strings.TrimSpace(outcome)))
}

// PrimaryReason derives the reason column from a row's other columns:
// empty for accepted; else the first status reason's sub_category, or its
// category when it has none; else the first skip reason; else the error
// code; else "".
func PrimaryReason(r *Row) string {
	if r.Outcome == OutcomeAccepted {
		return ""
	}
	if len(r.StatusReasons) > 0 {
		if sr := r.StatusReasons[0]; sr.SubCategory != "" {
			return sr.SubCategory
		} else if sr.Category != "" {
			return sr.Category
		}
	}
	if len(r.SkipReasons) > 0 && r.SkipReasons[0] != "" {
		return r.SkipReasons[0]
	}
	return r.ErrorCode
}
