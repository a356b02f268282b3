package blob

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every file a local store creates is 0600 and every folder 0700, whatever
// the umask (it can only take bits away, and these have none to spare for
// anyone else): through every way it writes — Prepare, Put, Create, Append,
// PutIfAbsent, Lock — on a plain, an unsynced and an Opener's store.
//
// The umask is the process's: this test must not run in parallel with
// others that create files (no t.Parallel here or in its subtests).
func TestLocalCreatesPrivateFilesAndFolders(t *testing.T) {
	for _, umask := range []int{0o022, 0o077, 0} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			base := t.TempDir() // made before the umask changes, and not checked
			old := syscall.Umask(umask)
			t.Cleanup(func() { syscall.Umask(old) })

			ctx := context.Background()
			root := filepath.Join(base, "out", "nested")
			l, err := NewLocal(root)
			require.NoError(t, err)
			require.NoError(t, l.Prepare(ctx))
			require.NoError(t, l.Put(ctx, "runs/r/shard-0-of-1/part-0001.parquet", []byte("rows")))
			w, err := l.Create(ctx, "runs/r/shard-0-of-1/results/dossier.zip")
			require.NoError(t, err)
			_, err = w.Write([]byte("zip"))
			require.NoError(t, err)
			require.NoError(t, w.Close())
			require.NoError(t, l.NoSync().Put(ctx, "specimen/rec-1/front.jpg", []byte("jpeg")))
			for range 2 { // created, then appended to
				a, err := l.Append(ctx, "runs/r/shard-0-of-1/journal/log.jsonl")
				require.NoError(t, err)
				_, err = a.Write([]byte("{}\n"))
				require.NoError(t, err)
				require.NoError(t, a.Sync())
				require.NoError(t, a.Close())
			}
			require.NoError(t, l.PutIfAbsent(ctx, "runs/r/_definition.json", []byte("{}")))
			require.NoError(t, l.NoSync().PutIfAbsent(ctx, "runs/s/_definition.json", []byte("{}")))
			release, err := l.Lock("runs/r/shard-0-of-1/lock/_lock", []byte(`{"pid":1}`))
			require.NoError(t, err)
			require.NoError(t, release())
			st, err := NewOpener(S3Options{}).WithoutSync().Open(ctx, "file://"+filepath.Join(base, "archive"))
			require.NoError(t, err)
			require.NoError(t, st.Put(ctx, "rec-2/meta.json", []byte("{}")))

			files, dirs := 0, 0
			require.NoError(t, filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if err != nil || p == base {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(base, p)
				assert.False(t, isTempName(d.Name()), "%s: a temporary file was left", rel)
				if d.IsDir() {
					dirs++
					assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "folder %s", rel)
				} else {
					files++
					assert.True(t, fi.Mode().IsRegular(), rel)
					assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "file %s", rel)
				}
				return nil
			}))
			assert.Equal(t, 8, files, "every write above made its file")
			assert.Equal(t, 13, dirs, "every folder above was checked")
		})
	}
}

// A folder or file that already exists keeps its mode: the store never
// widens (nor silently changes) what its owner set.
func TestLocalKeepsModesOfWhatExists(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(root, "log"), nil, 0o640))
	require.NoError(t, os.Chmod(filepath.Join(root, "log"), 0o640)) // whatever the umask
	l, err := NewLocal(root)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, l.Prepare(ctx))
	a, err := l.Append(ctx, "log")
	require.NoError(t, err)
	require.NoError(t, a.Close())
	require.NoError(t, l.Put(ctx, "new", []byte("x")))
	for name, want := range map[string]fs.FileMode{".": 0o750, "log": 0o640, "new": 0o600} {
		fi, err := os.Stat(filepath.Join(root, name))
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode().Perm(), name)
	}
}
