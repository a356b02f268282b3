package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Identity is what the archive is: its root and manifest (absolute URIs,
// "" without a manifest). A run id records it at its first attempt.
func (a *Archive) Identity() (root, manifest string) {
	root = a.root.String()
	if a.manifest != nil {
		manifest = a.manifest.String()
	}
	return root, manifest
}

// ManifestDigest is the hex SHA-256 of the manifest's bytes ("" without a
// manifest), read as a stream: a manifest edited between two attempts of a
// run describes other records.
func (a *Archive) ManifestDigest(ctx context.Context) (string, error) {
	if a.manifest == nil {
		return "", nil
	}
	st, key, err := a.resolve(ctx, a.manifest.String())
	if err != nil {
		return "", fmt.Errorf("%w: manifest %s: %w", ErrAbort, a.manifest, err)
	}
	rc, err := st.Open(ctx, key)
	if err != nil {
		return "", a.manifestErr(ctx, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", a.storeErr(ctx, "read manifest "+a.manifest.String(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
