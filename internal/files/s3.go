package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/porticohq/portico/internal/store"
)

// S3Options reach an S3-compatible bucket.
type S3Options struct {
	// Endpoint is host[:port], without a scheme.
	Endpoint string
	Bucket   string
	Region   string
	// Prefix is put before every object's key (e.g. "portico/").
	Prefix          string
	AccessKeyID     string
	SecretAccessKey string
	// Insecure talks plain HTTP (a local MinIO), not HTTPS.
	Insecure bool
}

// S3Blobs keeps content in an S3-compatible bucket (minio-go), one object
// per file under its generated key; the file's row stays in PostgreSQL.
// The object is written before the upload's transaction commits: when the
// upload is refused or fails, Service removes it again (Remover).
type S3Blobs struct {
	client *minio.Client
	opts   S3Options
}

// s3PartSize is the piece an upload of unknown length is sent in: S3's
// smallest multipart part, so an upload holds at most this in memory
// (minio-go's own choice for an unknown length is hundreds of MB).
const s3PartSize = 5 << 20

// NewS3Blobs connects to the bucket (it does not check that it exists:
// Check does).
func NewS3Blobs(o S3Options) (*S3Blobs, error) {
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, ""),
		Secure: !o.Insecure, Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("files: s3: %w", err)
	}
	return &S3Blobs{client: c, opts: o}, nil
}

// Check reports whether the bucket is there and reachable.
func (b *S3Blobs) Check(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.opts.Bucket)
	switch {
	case err != nil:
		return fmt.Errorf("files: s3: %w", err)
	case !ok:
		return fmt.Errorf("files: s3: bucket %q does not exist", b.opts.Bucket)
	}
	return nil
}

func (b *S3Blobs) key(f File) string { return strings.TrimPrefix(b.opts.Prefix+f.Key, "/") }

// Write implements Blobs: the content streamed in parts of s3PartSize.
func (b *S3Blobs) Write(ctx context.Context, _ store.DBTX, f File, r io.Reader) (int64, error) {
	counted := &countingReader{r: r}
	_, err := b.client.PutObject(ctx, b.opts.Bucket, b.key(f), counted, -1,
		minio.PutObjectOptions{PartSize: s3PartSize, ContentType: "application/octet-stream", DisableContentSha256: true})
	if err != nil {
		if counted.err != nil {
			return counted.n, counted.err // the upload's own failure, not the store's
		}
		return counted.n, fmt.Errorf("files: s3: writing %s: %w", b.key(f), err)
	}
	return counted.n, nil
}

// Open implements Blobs: the object, read and seeked as the download asks.
func (b *S3Blobs) Open(ctx context.Context, f File) (io.ReadSeeker, error) {
	obj, err := b.client.GetObject(ctx, b.opts.Bucket, b.key(f), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("files: s3: reading %s: %w", b.key(f), err)
	}
	return obj, nil
}

// Remove implements Remover.
func (b *S3Blobs) Remove(ctx context.Context, f File) error {
	if err := b.client.RemoveObject(ctx, b.opts.Bucket, b.key(f), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("files: s3: removing %s: %w", b.key(f), err)
	}
	return nil
}

// List implements Lister: the objects under the prefix whose names are
// storage keys (anything else the bucket holds is left alone). An upload
// that stopped mid-way leaves an incomplete multipart upload rather than
// an object: the bucket's lifecycle rule (AbortIncompleteMultipartUpload)
// is what removes those.
func (b *S3Blobs) List(ctx context.Context, fn func(Stored) error) error {
	ctx, cancel := context.WithCancel(ctx) // ends the listing when fn fails
	defer cancel()
	prefix := strings.TrimPrefix(b.opts.Prefix, "/")
	for obj := range b.client.ListObjects(ctx, b.opts.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("files: s3: listing: %w", obj.Err)
		}
		key := strings.TrimPrefix(obj.Key, prefix)
		if !validKey(key) {
			continue
		}
		if err := fn(Stored{Key: key, Modified: obj.LastModified, name: obj.Key}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Discard implements Lister; S3 answers the removal of an object already
// gone as done.
func (b *S3Blobs) Discard(ctx context.Context, s Stored) error {
	if s.name == "" {
		return errNotListed
	}
	if err := b.client.RemoveObject(ctx, b.opts.Bucket, s.name, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("files: s3: removing %s: %w", s.name, err)
	}
	return nil
}

// Remover is a Blobs whose content lives outside the upload's
// transaction, and must be removed when the file's row is not kept.
type Remover interface {
	Remove(ctx context.Context, f File) error
}

// countingReader counts what it read and keeps the reader's own error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}
