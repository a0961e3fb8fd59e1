package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/files"
)

// s3Blobs is an S3Blobs on an in-process S3-compatible server (gofakes3
// over real HTTP), with its bucket made, and the server's backend (made
// with opts).
func s3Blobs(t *testing.T, opts ...s3mem.Option) (*files.S3Blobs, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New(opts...)
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	require.NoError(t, backend.CreateBucket("portico-files"))
	b, err := files.NewS3Blobs(files.S3Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "portico-files",
		Region: "us-east-1", Prefix: "uploads/", AccessKeyID: "key", SecretAccessKey: "secret", Insecure: true})
	require.NoError(t, err)
	require.NoError(t, b.Check(context.Background()))
	return b, backend
}

func objects(t *testing.T, backend *s3mem.Backend) int {
	t.Helper()
	list, err := backend.ListBucket("portico-files", nil, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	return len(list.Contents)
}

// TestS3Store: with the S3 store, a 12 MiB file (three multipart parts)
// goes into the bucket under its generated key, not into file_chunk, and
// reads back whole and from an offset; a refused upload and a deleted file
// leave no object behind.
func TestS3Store(t *testing.T) {
	t.Parallel()
	blobs, backend := s3Blobs(t)
	b := setup(t, files.Options{Blobs: blobs, MaxBytes: 20 << 20})
	ctx := context.Background()
	content := append(append([]byte{}, pdf...), make([]byte, 12<<20)...)
	_, _ = rand.Read(content[len(pdf):])

	f, err := b.svc.Store(ctx, upload("big.pdf", "application/pdf", bytes.NewReader(content)))
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), f.Size)
	nf, nc := b.count(t)
	require.Equal(t, 1, nf)
	require.Zero(t, nc, "the content is in the bucket, not in PostgreSQL")
	obj, err := backend.HeadObject("portico-files", "uploads/"+f.Key)
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), obj.Size)

	readsBackWholeAndFrom(t, b.svc, *f, content, 7<<20)

	// Refused after content was written (too large mid-stream): no object.
	big := append(append([]byte{}, pdf...), make([]byte, 21<<20)...)
	_, err = b.svc.Store(ctx, upload("huge.pdf", "application/pdf", bytes.NewReader(big)))
	require.Equal(t, "too_large", refusal(t, err).Code)
	require.Equal(t, 1, objects(t, backend), "the refused upload's object is removed")

	require.NoError(t, b.svc.Delete(ctx, f.ID))
	require.Zero(t, objects(t, backend), "a deleted file's object is removed")
	nf, _ = b.count(t)
	require.Zero(t, nf)
}

// TestS3Resumable: with the S3 store, a completed resumable upload's
// chunks go into the bucket under the file's key and leave PostgreSQL.
func TestS3Resumable(t *testing.T) {
	t.Parallel()
	blobs, backend := s3Blobs(t)
	b := setup(t, files.Options{Blobs: blobs})
	f, content := completeResumable(t, b)
	nf, nc := b.count(t)
	require.Equal(t, [2]int{1, 0}, [2]int{nf, nc}, "the content is in the bucket, not in PostgreSQL")
	obj, err := backend.HeadObject("portico-files", "uploads/"+f.Key)
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), obj.Size)
	require.True(t, bytes.Equal(content, readBack(t, b.svc, *f)))
}
