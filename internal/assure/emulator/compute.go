package emulator

import (
	"time"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
)

// finalInput is a snapshot of a started process: its images no longer change.
type finalInput struct {
	base        assure.Process
	images      map[string]*storedImage
	firstUpload time.Time
	startedAt   time.Time
	dueAt       time.Time
	country     string
}

// depictionOrder is the order of images in hashes, depictions and zips.
func depictionOrder() []string {
	return []string{assure.DepictionFront, assure.DepictionBack, assure.DepictionSelfie}
}

// computeFinal measures the images, applies the rules and shapes the answer.
// Each distinct image is analysed once (imageCache). It fails only when a
// spilled image cannot be read back.
func (e *Emulator) computeFinal(in finalInput) (assure.Process, error) {
	f := Facts{
		ProcessType: in.base.ProcessType,
		Now:         in.startedAt,
		FirstUpload: in.firstUpload,
		Expiry:      e.cfg.TransactionExpiry,
		Mix:         e.cfg.OutcomeMix,
		Country:     in.country,
	}
	var depictions []string
	for _, dep := range depictionOrder() {
		if _, ok := in.images[dep]; ok {
			depictions = append(depictions, dep)
		}
	}
	var err error
	if f.Hash, err = e.images.outcomeHash(in.images); err != nil {
		return assure.Process{}, err
	}

	var front, selfie measured
	if f.FirstUpload.IsZero() || f.Now.Sub(f.FirstUpload) <= f.Expiry {
		// Measuring decodes every image: skip it when rule 1 decides anyway.
		var fa, ba, sa analysis
		if fa, err = e.images.analyse(in.images[assure.DepictionFront]); err != nil {
			return assure.Process{}, err
		}
		front = fa.measured
		f.Unreadable = !front.decoded
		if b, ok := in.images[assure.DepictionBack]; ok {
			if ba, err = e.images.analyse(b); err != nil {
				return assure.Process{}, err
			}
			f.Unreadable = f.Unreadable || !ba.decoded
		}
		if s, ok := in.images[assure.DepictionSelfie]; ok {
			if sa, err = e.images.analyse(s); err != nil {
				return assure.Process{}, err
			}
			selfie = sa.measured
			f.Unreadable = f.Unreadable || !selfie.decoded
		}
		f.Grey = front.grey
		f.Front = fa.specimen
		if in.base.ProcessType == pictureid.ProcessDocumentSelfie {
			f.Selfie = sa.specimen
		}
	}
	base := in.base
	base.UpdatedAt = assure.NewTime(in.dueAt)
	return buildFinal(shapeInput{base: base, depictions: depictions, front: front, selfie: selfie}, Decide(f)), nil
}

// extract returns the specimen data of an image, nil when it has none (or
// an unreadable marker).
func extract(img []byte) *specimen.Data {
	if len(img) == 0 {
		return nil
	}
	d, found, err := specimen.Extract(img)
	if err != nil || !found {
		return nil
	}
	return &d
}
