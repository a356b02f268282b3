package pictureid

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSniff(t *testing.T) {
	assert.Equal(t, JPEG, Sniff([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}))
	assert.Equal(t, PNG, Sniff([]byte("\x89PNG\r\n\x1a\n\x00\x00")))
	assert.Empty(t, Sniff([]byte{0xFF, 0xD8}), "too short to be a JPEG")
	assert.Empty(t, Sniff([]byte("\x89PNG\r\n")), "a cut PNG signature")
	assert.Empty(t, Sniff([]byte("GIF89a")))
	assert.Empty(t, Sniff(nil))
}
