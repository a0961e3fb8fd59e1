package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/files"
)

// storedFiles are the content files under root (its tmp/ included, which
// must hold none once a write is over).
func storedFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	}))
	return out
}

// TestDirStore: with the directory store, a 12 MiB file goes into the
// directory under its generated key, not into file_chunk, and reads back
// whole and from an offset; a refused upload and a deleted file leave no
// file behind, nor a temporary one.
func TestDirStore(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "content")
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	require.NoError(t, blobs.Check(context.Background()))
	b := setup(t, files.Options{Blobs: blobs, MaxBytes: 20 << 20})
	ctx := context.Background()
	content := append(append([]byte{}, pdf...), make([]byte, 12<<20)...)
	_, _ = rand.Read(content[len(pdf):])

	f, err := b.svc.Store(ctx, upload("big.pdf", "application/pdf", bytes.NewReader(content)))
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), f.Size)
	nf, nc := b.count(t)
	require.Equal(t, [2]int{1, 0}, [2]int{nf, nc}, "the content is in the directory, not in PostgreSQL")
	kept := storedFiles(t, root)
	require.Equal(t, []string{filepath.Join(root, f.Key[:2], f.Key[2:4], f.Key)}, kept)
	info, err := os.Stat(kept[0])
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), info.Size())
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "readable by the portal only")
	readsBackWholeAndFrom(t, b.svc, *f, content, 7<<20)

	// Refused after content was written (too large mid-stream): no file.
	big := append(append([]byte{}, pdf...), make([]byte, 21<<20)...)
	_, err = b.svc.Store(ctx, upload("huge.pdf", "application/pdf", bytes.NewReader(big)))
	require.Equal(t, "too_large", refusal(t, err).Code)
	require.Equal(t, kept, storedFiles(t, root), "the refused upload's file is removed")

	require.NoError(t, b.svc.Delete(ctx, f.ID))
	require.Empty(t, storedFiles(t, root), "a deleted file's content is removed")
	nf, _ = b.count(t)
	require.Zero(t, nf)
	_, err = files.NewDirBlobs("")
	require.Error(t, err)
}

// TestDirResumable: with the directory store, a completed resumable
// upload's chunks go into the directory under the file's key and leave
// PostgreSQL.
func TestDirResumable(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	b := setup(t, files.Options{Blobs: blobs})
	f, content := completeResumable(t, b)
	nf, nc := b.count(t)
	require.Equal(t, [2]int{1, 0}, [2]int{nf, nc}, "the content is in the directory, not in PostgreSQL")
	require.Len(t, storedFiles(t, root), 1)
	require.True(t, bytes.Equal(content, readBack(t, b.svc, *f)))
}

// readsBackWholeAndFrom requires f to read back as content, whole and
// 1000 bytes from offset.
func readsBackWholeAndFrom(t *testing.T, svc *files.Service, f files.File, content []byte, offset int64) {
	t.Helper()
	require.True(t, bytes.Equal(content, readBack(t, svc, f)))
	r, err := svc.Open(context.Background(), f)
	require.NoError(t, err)
	// The read stops mid-way: closing it ends the fake S3's send, which
	// the server's Close would wait for.
	defer r.(io.Closer).Close()
	_, err = r.Seek(offset, io.SeekStart)
	require.NoError(t, err)
	part := make([]byte, 1000)
	_, err = io.ReadFull(r, part)
	require.NoError(t, err)
	require.True(t, bytes.Equal(content[offset:offset+1000], part))
}

// completeResumable sends a 100 kB PDF as a resumable upload in two
// PATCHes and completes it: the file and its content.
func completeResumable(t *testing.T, b bundle) (*files.File, []byte) {
	t.Helper()
	ctx := context.Background()
	content := append(append([]byte{}, pdf...), make([]byte, 100_000)...)
	_, _ = rand.Read(content[len(pdf):])
	up, id := b.resumable(t, int64(len(content)), "scan.pdf")
	for _, at := range [][2]int{{0, 30_001}, {30_001, len(content)}} {
		_, err := up.WriteChunk(ctx, int64(at[0]), bytes.NewReader(content[at[0]:at[1]]))
		require.NoError(t, err)
	}
	f, err := b.svc.Complete(ctx, id, "")
	require.NoError(t, err)
	return f, content
}
