package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

type apiErr struct{ k Kind }

func (e *apiErr) Error() string { return "api" }
func (e *apiErr) Fault() Kind   { return e.k }

// The outermost classified error decides; context errors abort; anything
// else concerns the record at hand.
func TestOfAnswersOneQuestion(t *testing.T) {
	errRetry := New(Retry, "temporary")
	cases := []struct {
		err  error
		want Kind
	}{
		{nil, None},
		{errors.New("plain"), Record},
		{context.Canceled, Abort},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), Abort},
		{fmt.Errorf("x: %w", errRetry), Retry},
		{Mark(Config, errors.New("bad key")), Config},
		{fmt.Errorf("outer: %w", Mark(Abort, &apiErr{Retry})), Abort},
		{fmt.Errorf("wrapped: %w", &apiErr{Retry}), Retry},
		{Mark(Retry, context.Canceled), Retry},
		{fmt.Errorf("%w: %s: %w", errRetry, "what", Mark(Abort, errors.New("x"))), Retry},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Of(c.err), "%v", c.err)
	}
	assert.True(t, Fatal(Mark(Config, errors.New("x"))))
	assert.True(t, Fatal(context.Canceled))
	assert.False(t, Fatal(errRetry))
	assert.True(t, Retryable(fmt.Errorf("x: %w", errRetry)))
	assert.Nil(t, Mark(Abort, nil))
}

// Marking keeps the message and the chain.
func TestMarkIsTransparent(t *testing.T) {
	base := errors.New("disk full")
	m := Mark(Abort, fmt.Errorf("journal: %w", base))
	assert.Equal(t, "journal: disk full", m.Error())
	assert.ErrorIs(t, m, base)
	sentinel := New(Record, "missing")
	assert.ErrorIs(t, fmt.Errorf("a: %w", sentinel), sentinel)
	assert.Equal(t, "missing", sentinel.Error())
}
