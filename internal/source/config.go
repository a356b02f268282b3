package source

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

// Manifest formats.
const (
	FormatCSV   = "csv"   // comma-separated values with a header line
	FormatJSONL = "jsonl" // JSON Lines: one JSON object per line
)

// Defaults of Limits and Config.
const (
	// DefaultMaxImageBytes is what the API accepts per image, as far as it is
	// documented (4 MB, the provider's only image size limit; the emulator's
	// max_image_bytes): a larger image would be refused after its dossier and
	// process were made.
	DefaultMaxImageBytes = 4 << 20
	// DefaultMaxPixels caps an image's declared width × height: 25
	// megapixels (5000 × 5000, the emulator's max_image_pixels). A larger one
	// is too_large, read from its header without decoding it.
	DefaultMaxPixels   = 25_000_000
	DefaultMinWidth    = 300 // pixels, either orientation
	DefaultMinHeight   = 200 // pixels, either orientation
	DefaultRecordDepth = 1   // record folders directly below the archive root
	maxRecordDepth     = 16
)

// Config describes an archive. The YAML names are the ones error messages
// and docs/archives.md use.
type Config struct {
	// Archive is the archive root: s3://bucket/prefix, file:///path or a
	// local path. Without a manifest it is listed in the folder layout; with
	// one, relative image paths in the manifest are resolved against it.
	// Defaults to the manifest's folder when a manifest is given.
	Archive string `yaml:"archive"`
	// Manifest is an optional manifest location (s3://..., file://... or a
	// local path). Its format comes from the extension (.csv; .jsonl or
	// .ndjson) unless ManifestFormat says otherwise.
	Manifest string `yaml:"manifest"`
	// ManifestFormat overrides the extension: "csv" or "jsonl".
	ManifestFormat string `yaml:"manifest_format"`
	// RecordDepth is the depth of record folders below the archive root in
	// the folder layout: 1 (default) for <root>/<id>/front.jpg, 3 for
	// <root>/<year>/<month>/<id>/front.jpg (the record ID is then
	// "<year>/<month>/<id>").
	RecordDepth int `yaml:"record_depth"`
	// DefaultDocumentID applies to records that give no document ID. With 0
	// such records get a missing_document_id problem.
	DefaultDocumentID int `yaml:"default_document_id"`
	// DefaultProcessType applies to records that give no process type:
	// "documentSelfie" (when empty: the API's default) or "document".
	DefaultProcessType string `yaml:"default_process_type"`
	// Limits of the preflight checks.
	Limits Limits `yaml:"limits"`
}

// Limits bound what an image may be. Zero fields take the defaults.
type Limits struct {
	// MaxImageBytes is the largest image accepted (default 4 MiB). Larger
	// objects are never read into memory: they are too_large.
	MaxImageBytes int64 `yaml:"max_image_bytes"`
	// MaxPixels is the most pixels (width × height, from the image's header;
	// default 25,000,000) an image may declare: a small file may claim to be
	// huge, and whatever decodes it would need the memory it claims.
	MaxPixels int64 `yaml:"max_pixels"`
	// MinWidth and MinHeight are the smallest dimensions accepted (default
	// 300 × 200), in either orientation: an image passes when its longer
	// side is at least max(MinWidth, MinHeight) and its shorter side at
	// least min(MinWidth, MinHeight), so portrait selfies are judged like
	// landscape documents. Set both to 1 to accept any size.
	MinWidth  int `yaml:"min_width"`
	MinHeight int `yaml:"min_height"`
}

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxImageBytes == 0 {
		l.MaxImageBytes = DefaultMaxImageBytes
	}
	if l.MaxPixels == 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MinWidth == 0 {
		l.MinWidth = DefaultMinWidth
	}
	if l.MinHeight == 0 {
		l.MinHeight = DefaultMinHeight
	}
	return l
}

// validate checks the config and returns it with defaults filled in, and
// the parsed archive and manifest locations. Every error names the field.
func (c Config) validate() (Config, blob.Location, *blob.Location, error) {
	var errs []error
	c.Limits = c.Limits.withDefaults()
	if c.Limits.MaxImageBytes < 0 {
		errs = append(errs, fmt.Errorf("limits.max_image_bytes: %d is negative", c.Limits.MaxImageBytes))
	}
	if c.Limits.MaxPixels < 0 {
		errs = append(errs, fmt.Errorf("limits.max_pixels: %d is negative", c.Limits.MaxPixels))
	}
	if c.Limits.MinWidth < 0 || c.Limits.MinHeight < 0 {
		errs = append(errs, fmt.Errorf("limits.min_width/min_height: %d×%d is negative", c.Limits.MinWidth, c.Limits.MinHeight))
	}
	if c.RecordDepth == 0 {
		c.RecordDepth = DefaultRecordDepth
	}
	if c.RecordDepth < 0 || c.RecordDepth > maxRecordDepth {
		errs = append(errs, fmt.Errorf("record_depth: %d is outside 1..%d", c.RecordDepth, maxRecordDepth))
	}
	if c.DefaultDocumentID < 0 || c.DefaultDocumentID > maxDocumentID {
		errs = append(errs, fmt.Errorf("default_document_id: %d is not a positive 32-bit integer", c.DefaultDocumentID))
	}
	if c.DefaultProcessType == "" {
		c.DefaultProcessType = pictureid.ProcessDocumentSelfie
	} else if pt, ok := canonicalProcessType(c.DefaultProcessType); ok {
		c.DefaultProcessType = pt
	} else {
		errs = append(errs, fmt.Errorf("default_process_type: %q is not %q or %q",
			c.DefaultProcessType, pictureid.ProcessDocumentSelfie, pictureid.ProcessDocument))
	}

	var manifest *blob.Location
	if c.Manifest != "" {
		loc, err := blob.Parse(c.Manifest)
		if err != nil {
			errs = append(errs, fmt.Errorf("manifest: %w", err))
		} else {
			manifest = &loc
		}
		if c.ManifestFormat == "" {
			c.ManifestFormat = formatFromName(c.Manifest)
		}
		c.ManifestFormat = strings.ToLower(c.ManifestFormat)
		if c.ManifestFormat != FormatCSV && c.ManifestFormat != FormatJSONL {
			errs = append(errs, fmt.Errorf("manifest_format: cannot tell the format of %q: name it .csv, .jsonl or .ndjson, or set the format to %q or %q",
				c.Manifest, FormatCSV, FormatJSONL))
		}
	} else if c.ManifestFormat != "" {
		errs = append(errs, errors.New("manifest_format: set without a manifest"))
	}

	var archive blob.Location
	switch {
	case c.Archive != "":
		loc, err := blob.Parse(c.Archive)
		if err != nil {
			errs = append(errs, fmt.Errorf("archive: %w", err))
		}
		archive = loc
	case manifest != nil:
		archive = parentOf(*manifest)
		c.Archive = archive.String()
	case c.Manifest == "":
		errs = append(errs, errors.New("archive: missing (give an archive URI, a manifest, or both)"))
	}
	return c, archive, manifest, errors.Join(errs...)
}

// formatFromName guesses a manifest format from its extension.
func formatFromName(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson":
		return FormatJSONL
	}
	return ""
}

// parentOf is the folder holding loc.
func parentOf(loc blob.Location) blob.Location {
	out := loc
	if loc.Scheme == "s3" {
		if i := strings.LastIndex(loc.Path, "/"); i >= 0 {
			out.Path = loc.Path[:i]
		} else {
			out.Path = ""
		}
		return out
	}
	out.Path = filepath.Dir(loc.Path)
	return out
}

// canonicalProcessType accepts a process type in any letter case.
func canonicalProcessType(s string) (string, bool) {
	switch {
	case strings.EqualFold(s, pictureid.ProcessDocumentSelfie):
		return pictureid.ProcessDocumentSelfie, true
	case strings.EqualFold(s, pictureid.ProcessDocument):
		return pictureid.ProcessDocument, true
	}
	return "", false
}
