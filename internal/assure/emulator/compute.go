package emulator

import (
	"crypto/sha256"
	"time"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
)

// finalInput is a snapshot of a started process: its images no longer change.
type finalInput struct {
	base        assure.Process
	images      map[string]upload
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
func (e *Emulator) computeFinal(in finalInput) assure.Process {
	f := Facts{
		ProcessType: in.base.ProcessType,
		Now:         in.startedAt,
		FirstUpload: in.firstUpload,
		Expiry:      e.cfg.TransactionExpiry,
		Mix:         e.cfg.OutcomeMix,
		Country:     in.country,
	}
	var depictions []string
	h := sha256.New()
	for _, dep := range depictionOrder() {
		if img, ok := in.images[dep]; ok {
			depictions = append(depictions, dep)
			h.Write(img.data)
		}
	}
	copy(f.Hash[:], h.Sum(nil))

	var front, selfie measured
	if f.FirstUpload.IsZero() || f.Now.Sub(f.FirstUpload) <= f.Expiry {
		// Measuring decodes every image: skip it when rule 1 decides anyway.
		front = measure(in.images[assure.DepictionFront].data)
		f.Unreadable = !front.decoded
		if b, ok := in.images[assure.DepictionBack]; ok && !measure(b.data).decoded {
			f.Unreadable = true
		}
		if s, ok := in.images[assure.DepictionSelfie]; ok {
			selfie = measure(s.data)
			f.Unreadable = f.Unreadable || !selfie.decoded
		}
		f.Grey = front.grey
		f.Front = extract(in.images[assure.DepictionFront].data)
		if in.base.ProcessType == pictureid.ProcessDocumentSelfie {
			f.Selfie = extract(in.images[assure.DepictionSelfie].data)
		}
	}
	base := in.base
	base.UpdatedAt = assure.NewTime(in.dueAt)
	return buildFinal(shapeInput{base: base, depictions: depictions, front: front, selfie: selfie}, Decide(f))
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
