package source

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"reverify/internal/blob"
)

// metaName is the metadata file of a record folder (any letter case).
const metaName = "meta.json"

// folderRecords lists the archive root and groups its keys into records.
// Keys come in S3 key order, so a record folder's keys are contiguous even
// when they straddle listing pages: a record is complete when the first key
// of another folder arrives. Only the current folder is held in memory.
func (a *Archive) folderRecords(ctx context.Context, fn func(Record) error) error {
	st, err := a.store(ctx, a.root)
	if err != nil {
		return err
	}
	var cur *folder
	last := "" // the last record folder's id, for the key order check
	// emitErr marks errors that come from fn or from reading meta.json, so
	// they are not reclassified as listing errors.
	var emitErr error
	emit := func() error {
		if cur == nil {
			return nil
		}
		f := cur
		cur = nil
		r, err := a.folderRecord(ctx, st, f)
		if err == nil {
			err = fn(r)
		}
		if err != nil {
			emitErr = err
		}
		return err
	}
	err = st.List(ctx, "", func(o blob.Object) error {
		id, rel, ok := a.recordKey(o.Key)
		if !ok {
			return nil
		}
		if cur != nil && cur.id != id {
			if err := emit(); err != nil {
				return err
			}
		}
		if cur == nil {
			// Keys in key order put a folder's keys together and the folders
			// in the order of their "<id>/" prefixes: a folder can neither
			// come twice nor be split, and nothing per record is kept to
			// find repeated ones.
			if last != "" && id+"/" <= last+"/" {
				return fmt.Errorf("%w: archive %s: the store listed %q after %q, not in key order: a record folder's keys may be split between records (S3 and local folders list in key order)",
					ErrAbort, a.root, o.Key, last+"/")
			}
			last = id
			cur = &folder{id: id}
		}
		cur.add(rel)
		return nil
	})
	if err == nil {
		err = emit()
	}
	switch {
	case err == nil:
		return nil
	case emitErr != nil && errors.Is(err, emitErr):
		return err
	}
	return a.storeErr(ctx, "list "+a.root.String(), err)
}

// recordKey splits an archive key into its record folder's id and the rest;
// ok is false for a key outside a usable record folder (the manifest,
// expected.jsonl, a folder named "." or "..").
func (a *Archive) recordKey(key string) (id, rel string, ok bool) {
	segs := strings.Split(key, "/")
	depth := a.cfg.RecordDepth
	if len(segs) <= depth {
		return "", "", false
	}
	for _, s := range segs[:depth] {
		if s == "" || s == "." || s == ".." {
			return "", "", false
		}
	}
	return strings.Join(segs[:depth], "/"), strings.Join(segs[depth:], "/"), true
}

// Count counts the records Records would hand over, reading no image and
// no meta.json: the lines of a manifest, the record folders of a listing
// (keys only: a listing comes sorted, so a folder's keys are together and
// nothing per record is kept). seen, when set, is told the count so far
// every 1,000 records. Only records whose id keep accepts (nil: all) are
// counted: a shard's. It is what a progress display shows as the total
// while the run lists the records itself.
func (a *Archive) Count(ctx context.Context, keep func(id string) bool, seen func(n int64)) (int64, error) {
	var n int64
	tick := func(id string) {
		if keep != nil && !keep(id) {
			return
		}
		n++
		if seen != nil && n%1000 == 0 {
			seen(n)
		}
	}
	if a.manifest != nil {
		// Repeated IDs are counted too: each is a line, and a row.
		err := a.manifestRecords(ctx, false, func(r Record) error { tick(r.ID); return nil })
		return n, err
	}
	st, err := a.store(ctx, a.root)
	if err != nil {
		return 0, err
	}
	last := ""
	err = st.List(ctx, "", func(o blob.Object) error {
		if id, _, ok := a.recordKey(o.Key); ok && id != last {
			last = id
			tick(id)
		}
		return nil
	})
	if err != nil {
		return n, a.storeErr(ctx, "list "+a.root.String(), err)
	}
	return n, nil
}

// folder gathers the keys of one record folder.
type folder struct {
	id         string
	images     [3][]string // by role index: file names directly in the folder
	meta       []string    // meta.json names (more than one is a problem)
	extra      []string
	extraCount int
}

var roles = [3]string{RoleFront, RoleBack, RoleSelfie}

// add files a key, given relative to the record folder.
func (f *folder) add(rel string) {
	if !strings.Contains(rel, "/") {
		lower := strings.ToLower(rel)
		if lower == metaName {
			f.meta = append(f.meta, rel)
			return
		}
		stem := strings.TrimSuffix(lower, path.Ext(lower))
		for i, role := range roles {
			if stem == role {
				f.images[i] = append(f.images[i], rel)
				return
			}
		}
	}
	f.extraCount++
	if len(f.extra) < MaxExtraNames {
		f.extra = append(f.extra, rel)
	}
}

// folderRecord turns a folder into a record, reading its meta.json.
func (a *Archive) folderRecord(ctx context.Context, st blob.Store, f *folder) (Record, error) {
	r := Record{ID: f.id, Origin: st.KeyURI(f.id) + "/", Extra: f.extra, ExtraCount: f.extraCount}
	uris := [3]*string{&r.Front, &r.Back, &r.Selfie}
	for i, names := range f.images {
		if len(names) == 0 {
			continue
		}
		*uris[i] = st.KeyURI(f.id + "/" + names[0])
		if len(names) > 1 {
			r.addProblem(CodeDuplicateImage, roles[i], "%d %s images in the folder (%s): keep one",
				len(names), roles[i], strings.Join(names, ", "))
		}
	}
	var docID, processType, previous string
	what := "the record folder (no meta.json)"
	switch len(f.meta) {
	case 0:
	case 1:
		m, err := a.readMeta(ctx, st, f.id+"/"+f.meta[0], &r)
		if err != nil {
			return Record{}, err
		}
		docID, processType, previous = m.documentID, m.processType, m.previousStatus
		what = f.meta[0]
	default:
		r.addProblem(CodeBadMetadata, "", "%d metadata files in the folder (%s): keep one",
			len(f.meta), strings.Join(f.meta, ", "))
	}
	r.applyFields(&a.cfg, docID, processType, previous, what)
	return r, nil
}
