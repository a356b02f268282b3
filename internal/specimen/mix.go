package specimen

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Mix gives each case a relative weight (a non-negative integer). Cases not
// in the mix have weight 0 and do not appear.
type Mix map[Case]int

// DefaultMix is accepted 42%, each other valid case 6% and each broken input
// 2% (the weights add up to 100).
func DefaultMix() Mix {
	m := Mix{}
	for _, c := range Cases() {
		switch {
		case c == CaseAccepted:
			m[c] = 42
		case c.Broken():
			m[c] = 2
		default:
			m[c] = 6
		}
	}
	return m
}

// ParseMix parses "case=weight,case=weight,…" (for example
// "accepted=50,expired=10,corrupt_jpeg=1"). Cases not named get weight 0.
// The word "default" stands for DefaultMix and may be followed by overrides:
// "default,accepted=80".
func ParseMix(spec string) (Mix, error) {
	m := Mix{}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty mix")
	}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "default" {
			if i > 0 {
				return nil, errors.New(`mix: "default" must come first`)
			}
			m = DefaultMix()
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("mix entry %q: want case=weight", part)
		}
		c, err := ParseCase(name)
		if err != nil {
			return nil, fmt.Errorf("mix entry %q: %w", part, err)
		}
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 {
			return nil, fmt.Errorf("mix entry %q: weight must be a non-negative integer", part)
		}
		m[c] = w
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks that every case is known, no weight is negative and the
// total is positive.
func (m Mix) Validate() error {
	total := 0
	for c, w := range m {
		if !c.Known() {
			return fmt.Errorf("mix: unknown case %q (known: %s)", c, caseNames())
		}
		if w < 0 {
			return fmt.Errorf("mix: negative weight %d for %s", w, c)
		}
		total += w
	}
	if total <= 0 {
		return errors.New("mix: the weights add up to zero")
	}
	return nil
}

// String renders the mix in canonical case order, weight-0 cases left out;
// ParseMix(m.String()) equals m up to zero weights.
func (m Mix) String() string {
	var parts []string
	for _, c := range Cases() {
		if w := m[c]; w > 0 {
			parts = append(parts, string(c)+"="+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, ",")
}

// Counts returns how many of count records each case gets: every case with
// a positive weight gets one record, the rest is shared in proportion to the
// weights (largest remainder, ties to the earlier case in canonical order).
// With fewer records than such cases, the heaviest cases get one each. The
// counts add up to count.
func (m Mix) Counts(count int) (map[Case]int, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if count < 0 {
		return nil, fmt.Errorf("negative count %d", count)
	}
	var active []Case
	total := 0
	for _, c := range Cases() {
		if w := m[c]; w > 0 {
			active = append(active, c)
			total += w
		}
	}
	out := make(map[Case]int, len(active))
	if count < len(active) {
		sort.SliceStable(active, func(i, j int) bool { return m[active[i]] > m[active[j]] })
		for _, c := range active[:count] {
			out[c] = 1
		}
		return out, nil
	}
	for _, c := range active {
		out[c] = 1
	}
	rest := count - len(active)
	type share struct {
		c   Case
		rem int // remainder numerator, compared for the largest remainder
		idx int
	}
	shares := make([]share, 0, len(active))
	given := 0
	for i, c := range active {
		q := rest * m[c] / total
		out[c] += q
		given += q
		shares = append(shares, share{c: c, rem: rest * m[c] % total, idx: i})
	}
	sort.SliceStable(shares, func(i, j int) bool {
		if shares[i].rem != shares[j].rem {
			return shares[i].rem > shares[j].rem
		}
		return shares[i].idx < shares[j].idx
	})
	for i := 0; given < rest; i++ {
		out[shares[i%len(shares)].c]++
		given++
	}
	return out, nil
}

// Plan assigns a case to each of count records: the counts of Mix.Counts in
// an order shuffled by seed. The same (count, seed, mix) always gives the
// same plan.
func Plan(count int, seed int64, m Mix) ([]Case, error) {
	counts, err := m.Counts(count)
	if err != nil {
		return nil, err
	}
	plan := make([]Case, 0, count)
	for _, c := range Cases() {
		for n := counts[c]; n > 0; n-- {
			plan = append(plan, c)
		}
	}
	r := newRNG(seed, streamPlan, 0)
	for i := len(plan) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		plan[i], plan[j] = plan[j], plan[i]
	}
	return plan, nil
}
