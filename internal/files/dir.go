package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/porticohq/portico/internal/store"
)

// DirBlobs keeps content as files in a directory: one per stored file,
// under its generated key (two levels of fan-out by the key's first
// characters), the file's row staying in PostgreSQL. For one host, or a
// directory every serve and worker process mounts (NFS): the content goes
// to disk at the speed of a copy, where PostgreSQL takes a 20 MB upload
// at a fraction of that.
//
// Like S3Blobs, the content is written before the upload's transaction
// commits (to a temporary name, synced, then renamed into place, so a
// reader never sees half a file), and Service removes it again when the
// upload is refused or fails (Remover).
type DirBlobs struct {
	root string
}

// NewDirBlobs keeps content under root, which must be a directory this
// process may write (it is made when missing).
func NewDirBlobs(root string) (*DirBlobs, error) {
	if root == "" {
		return nil, errors.New("files: dir: no directory")
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("files: dir: %w", err)
	}
	return &DirBlobs{root: root}, nil
}

// Check reports whether the directory takes a file.
func (b *DirBlobs) Check(context.Context) error {
	f, err := os.CreateTemp(filepath.Join(b.root, "tmp"), "check-*")
	if err != nil {
		return fmt.Errorf("files: dir: %w", err)
	}
	name := f.Name()
	err = f.Close()
	return errors.Join(err, os.Remove(name))
}

// path is where a file's content is kept; keys are hex (newKey).
func (b *DirBlobs) path(f File) (string, error) {
	if len(f.Key) < 8 || filepath.Base(f.Key) != f.Key {
		return "", fmt.Errorf("files: dir: bad storage key %q", f.Key)
	}
	return filepath.Join(b.root, f.Key[:2], f.Key[2:4], f.Key), nil
}

// Write implements Blobs.
func (b *DirBlobs) Write(_ context.Context, _ store.DBTX, f File, r io.Reader) (int64, error) {
	dst, err := b.path(f)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, fmt.Errorf("files: dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(b.root, "tmp"), f.Key+"-*")
	if err != nil {
		return 0, fmt.Errorf("files: dir: %w", err)
	}
	counted := &countingReader{r: r}
	_, err = io.Copy(&flushing{f: tmp}, counted)
	switch {
	case counted.err != nil:
		err = counted.err // the upload's own failure, not the store's
	case err != nil:
		err = fmt.Errorf("files: dir: writing %s: %w", f.Key, err)
	default:
		if err = tmp.Sync(); err == nil {
			err = tmp.Close()
		}
		if err == nil {
			err = os.Rename(tmp.Name(), dst)
		}
		if err != nil {
			err = fmt.Errorf("files: dir: keeping %s: %w", f.Key, err)
		}
	}
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}
	return counted.n, err
}

// Open implements Blobs.
func (b *DirBlobs) Open(_ context.Context, f File) (io.ReadSeeker, error) {
	p, err := b.path(f)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("files: dir: reading %s: %w", f.Key, err)
	}
	return fh, nil
}

// Remove implements Remover; content already gone is no error.
func (b *DirBlobs) Remove(_ context.Context, f File) error {
	p, err := b.path(f)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("files: dir: removing %s: %w", f.Key, err)
	}
	return nil
}

// flushing writes to a file and, every flushEvery bytes, asks the kernel
// to start writing them out (sync_file_range, without waiting), so that
// the Sync at the end waits for the last piece instead of the whole
// file. Where the call is not supported it is skipped: Sync still
// writes everything.
type flushing struct {
	f       *os.File
	off     int64 // written
	flushed int64 // handed to the kernel's writeback
}

const flushEvery = 4 << 20

func (w *flushing) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err == nil && w.off-w.flushed >= flushEvery {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, err
}

// List implements Lister: the content files at their keys' places, and
// every file in tmp/ (a write's temporary file; Check's too). Other files
// and directories under the root are left alone.
func (b *DirBlobs) List(ctx context.Context, fn func(Stored) error) error {
	err := filepath.WalkDir(b.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if d.IsDir() {
			if rel != "." && (len(parts) > 2 || parts[0] == "tmp" && len(parts) > 1) {
				return fs.SkipDir // nothing of ours is deeper
			}
			return nil
		}
		st, ok := b.stored(parts)
		if !ok || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile (a refused upload, another sweep)
		}
		if err != nil {
			return err
		}
		st.Modified, st.name = info.ModTime(), p
		return fn(st)
	})
	if err != nil {
		return fmt.Errorf("files: dir: listing: %w", err)
	}
	return nil
}

// stored says what the file at the root-relative path parts is: a
// temporary file (tmp/<key>-<random>), a file's content (ab/cd/abcd...),
// or nothing of the store's.
func (b *DirBlobs) stored(parts []string) (Stored, bool) {
	switch {
	case len(parts) == 2 && parts[0] == "tmp":
		key, _, _ := strings.Cut(parts[1], "-")
		if !validKey(key) {
			key = ""
		}
		return Stored{Key: key, Temp: true}, true
	case len(parts) == 3 && validKey(parts[2]) && parts[0] == parts[2][:2] && parts[1] == parts[2][2:4]:
		return Stored{Key: parts[2]}, true
	}
	return Stored{}, false
}

// Discard implements Lister; a file already gone is no error.
func (b *DirBlobs) Discard(_ context.Context, s Stored) error {
	if s.name == "" {
		return errNotListed
	}
	if err := os.Remove(s.name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("files: dir: removing %s: %w", s.name, err)
	}
	return nil
}
