package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/files/clamdtest"
	"github.com/porticohq/portico/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

type bundle struct {
	pool *pgxpool.Pool
	svc  *files.Service
}

func setup(t *testing.T, opts files.Options) bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	opts.Pool = pool
	return bundle{pool: pool, svc: files.New(opts)}
}

func upload(name, declared string, body io.Reader) files.Upload {
	return files.Upload{TenantID: 1, Connection: "salesforce", Object: "case", RecordID: "500A", OwnerAccount: "001A",
		UploadedBy: "7", Name: name, DeclaredType: declared, DeclaredSize: -1, Body: body}
}

func (b bundle) count(t *testing.T) (files, chunks int) {
	t.Helper()
	n, err := store.FileCounts(context.Background(), b.pool)
	require.NoError(t, err)
	return int(n.Files), int(n.Chunks)
}

// staff is a scope that reads the tenant's files as the owner.
func staff(tenant int64) store.Scope { return store.Scope{TenantID: tenant, Staff: true} }

func refusal(t *testing.T, err error) *files.Refusal {
	t.Helper()
	var r *files.Refusal
	require.ErrorAs(t, err, &r)
	return r
}

// TestStoreAndReadBack: a 3 MiB file goes in as chunks and comes back the
// same, whole and from an offset (a Range request's Seek).
func TestStoreAndReadBack(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	ctx := context.Background()
	content := append(append([]byte{}, pdf...), make([]byte, 3<<20)...)
	_, _ = rand.Read(content[len(pdf):])
	f, err := b.svc.Store(ctx, upload("report.pdf", "application/pdf", iotest.HalfReader(bytes.NewReader(content))))
	require.NoError(t, err)
	require.Equal(t, "application/pdf", f.ContentType)
	require.Equal(t, files.StateUnscanned, f.State, "no scanner configured: kept as unscanned")
	require.Equal(t, int64(len(content)), f.Size)
	require.Len(t, f.Key, 32)
	require.NotContains(t, f.Key, "report")
	_, chunks := b.count(t)
	require.Equal(t, (len(content)+files.ChunkSize-1)/files.ChunkSize, chunks)

	got, err := b.svc.Get(ctx, staff(1), f.ID)
	require.NoError(t, err)
	r, err := b.svc.Open(ctx, *got)
	require.NoError(t, err)
	defer r.(io.Closer).Close() // the read from an offset stops mid-way
	all, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, bytes.Equal(content, all))
	_, err = r.Seek(files.ChunkSize+10, io.SeekStart)
	require.NoError(t, err)
	part := make([]byte, files.ChunkSize)
	_, err = io.ReadFull(r, part)
	require.NoError(t, err)
	require.True(t, bytes.Equal(content[files.ChunkSize+10:2*files.ChunkSize+10], part))

	_, err = b.svc.Get(ctx, staff(2), f.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's file id is not found")
}

// TestReadAheadAcrossWindows: a file of more chunks than one read-ahead
// query covers reads back whole, and from positions in every window,
// forwards and backwards (Range requests); Close in the middle of a
// window gives its pool connection back.
func TestReadAheadAcrossWindows(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{MaxBytes: 40 << 20})
	ctx := context.Background()
	const chunks = 2*files.ReadWindow + 3
	content := append(append([]byte{}, pdf...), make([]byte, (chunks-1)*files.ChunkSize+123)...)
	_, _ = rand.Read(content[len(pdf):])
	f, err := b.svc.Store(ctx, upload("big.pdf", "application/pdf", bytes.NewReader(content)))
	require.NoError(t, err)
	_, stored := b.count(t)
	require.Equal(t, chunks, stored)

	r, err := b.svc.Open(ctx, *f)
	require.NoError(t, err)
	all, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, bytes.Equal(content, all))

	w := int64(files.ReadWindow)
	for _, at := range []int64{(2*w+1)*files.ChunkSize - 5, 3, (w+1)*files.ChunkSize + 7, w*files.ChunkSize - 1, int64(len(content)) - 10} {
		_, err := r.Seek(at, io.SeekStart)
		require.NoError(t, err)
		part := make([]byte, min(3*files.ChunkSize+20, int64(len(content))-at))
		_, err = io.ReadFull(r, part)
		require.NoError(t, err, "from %d", at)
		require.True(t, bytes.Equal(content[at:at+int64(len(part))], part), "from %d", at)
	}

	_, err = r.Seek(0, io.SeekStart)
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 100))
	require.NoError(t, err)
	require.NoError(t, r.(io.Closer).Close())
	require.Eventually(t, func() bool { return b.pool.Stat().AcquiredConns() == 0 }, 10*time.Second, 10*time.Millisecond,
		"a read-ahead stopped by Close gives its connection back")
}

// TestRefusals: each check refuses with its status, field and words, in
// the documented order, and stores nothing.
func TestRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{MaxBytes: 1 << 20, Types: map[string][]string{"invoice": {"application/pdf"}}})
	ctx := context.Background()
	big := append(append([]byte{}, pdf...), make([]byte, 1<<20)...)
	cases := []struct {
		name   string
		up     files.Upload
		status int
		code   string
		field  string
		words  []string
	}{
		{"declared too large", func() files.Upload {
			u := upload("a.pdf", "application/pdf", bytes.NewReader(pdf))
			u.DeclaredSize = 2 << 20
			return u
		}(),
			413, "too_large", "file", []string{"1 MB"}},
		{"streamed too large", upload("a.pdf", "application/pdf", bytes.NewReader(big)), 413, "too_large", "file", []string{"1 MB"}},
		{"declared pdf, content text", upload("a.pdf", "application/pdf", strings.NewReader("just text")), 415, "type_mismatch", "file",
			[]string{"application/pdf", "text/plain"}},
		{"not allowed for the object", func() files.Upload {
			u := upload("a.txt", "text/plain", strings.NewReader("just text"))
			u.Object = "invoice"
			return u
		}(), 415, "type_not_allowed", "file", []string{"text/plain", "invoice"}},
		{"html is not allowed", upload("a.html", "", strings.NewReader("<html><script>alert(1)</script></html>")), 415, "type_not_allowed", "file", []string{"text/html"}},
		{"path separator", upload("../etc/passwd", "text/plain", strings.NewReader("x")), 422, "bad_name", "file_name", []string{"separator"}},
		{"backslash", upload(`c:\x.txt`, "text/plain", strings.NewReader("x")), 422, "bad_name", "file_name", []string{"separator"}},
		{"control character", upload("a\nb.txt", "text/plain", strings.NewReader("x")), 422, "bad_name", "file_name", []string{"control"}},
		{"zero bytes", upload("a.txt", "text/plain", strings.NewReader("")), 422, "empty", "file", []string{"empty"}},
		{"interrupted", upload("a.pdf", "application/pdf", io.MultiReader(bytes.NewReader(big[:5000]), iotest.ErrReader(io.ErrUnexpectedEOF))),
			400, "incomplete", "file", []string{"interrupted"}},
	}
	for _, c := range cases {
		_, err := b.svc.Store(ctx, c.up)
		r := refusal(t, err)
		require.Equal(t, c.status, r.Status, c.name)
		require.Equal(t, c.code, r.Code, c.name)
		require.Equal(t, c.field, r.Field, c.name)
		for _, w := range c.words {
			require.Contains(t, r.Message, w, c.name)
		}
	}
	nf, nc := b.count(t)
	require.Zero(t, nf, "a refused upload stores no file")
	require.Zero(t, nc)
}

// TestDeclaredTypesThatAgree: a browser's octet-stream, an alias, and a
// parent type of the sniffed one are not mismatches.
func TestDeclaredTypesThatAgree(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	for _, declared := range []string{"", "application/octet-stream", "application/pdf; name=a.pdf", "APPLICATION/PDF", "application/x-pdf"} {
		_, err := b.svc.Store(context.Background(), upload("a.pdf", declared, bytes.NewReader(pdf)))
		require.NoError(t, err, declared)
	}
	_, err := b.svc.Store(context.Background(), upload("a.csv", "text/plain", strings.NewReader("a,b\n1,2\n3,4\n")))
	require.NoError(t, err, "csv declared as its parent text/plain")
}

// TestClamd scans through the real clamd: EICAR is quarantined with the
// signature named, clean content is clean, both in one pass while stored.
func TestClamd(t *testing.T) {
	t.Parallel()
	scanner := clamdtest.Start(t)
	b := setup(t, files.Options{Scanner: scanner})
	ctx := context.Background()

	f, err := b.svc.Store(ctx, upload("report.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)
	require.Equal(t, files.StateClean, f.State)

	_, err = b.svc.Store(ctx, upload("eicar.txt", "text/plain", strings.NewReader(clamdtest.EICAR)))
	r := refusal(t, err)
	require.Equal(t, "infected", r.Code)
	require.Equal(t, 422, r.Status)
	require.Contains(t, r.Message, clamdtest.Signature)
	require.NotNil(t, r.File)
	q, err := b.svc.Get(ctx, staff(1), r.File.ID)
	require.NoError(t, err)
	require.Equal(t, files.StateQuarantined, q.State)
	require.Equal(t, clamdtest.Signature, q.ScanResult)
	_, err = b.svc.Open(ctx, *q)
	require.ErrorIs(t, err, store.ErrNotFound, "a quarantined file is never served")

	// A large clean file streams through both in one read.
	big := append(append([]byte{}, pdf...), make([]byte, 5<<20)...)
	f, err = b.svc.Store(ctx, upload("big.pdf", "application/pdf", bytes.NewReader(big)))
	require.NoError(t, err)
	require.Equal(t, int64(len(big)), f.Size)
}

// TestScannerDown: a configured scanner that cannot answer refuses the
// upload and stores nothing.
func TestScannerDown(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{Scanner: files.Clamd{Network: "unix", Address: t.TempDir() + "/none.sock"}})
	_, err := b.svc.Store(context.Background(), upload("report.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.True(t, errors.Is(err, files.ErrScanUnavailable), "%v", err)
	nf, _ := b.count(t)
	require.Zero(t, nf)
}

// resumable begins a resumable upload of size bytes through TusStore, as
// tusd does for the API, and returns it with its id.
func (b bundle) resumable(t *testing.T, size int64, name string) (tusd.Upload, string) {
	t.Helper()
	up, err := files.TusStore{Pool: b.pool}.NewUpload(context.Background(), tusd.FileInfo{Size: size, MetaData: map[string]string{files.TusFileName: name},
		Storage: map[string]string{files.TusTenant: "1", files.TusUser: "7", files.TusConnection: "salesforce", files.TusObject: "case", files.TusRecord: "500A", files.TusOwner: "001A"}})
	require.NoError(t, err)
	info, err := up.GetInfo(context.Background())
	require.NoError(t, err)
	return up, info.ID
}

// TestResumableCompletesInPlace: PATCHes of sizes that end mid-chunk
// (and one of less than a chunk) become the file's chunks as they
// arrive; completion keeps them as they are (no second write: the same row
// versions), with the hash of all the bytes and the sniffed type, and the
// file reads back whole. Before completion the file is pending: not
// listed and not servable.
func TestResumableCompletesInPlace(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	ctx := context.Background()
	content := append(append([]byte{}, pdf...), make([]byte, 3*files.ChunkSize+files.PartSize)...)
	_, _ = rand.Read(content[len(pdf):])
	up, id := b.resumable(t, int64(len(content)), "log.pdf")
	var off int64
	for _, n := range []int64{5000, 100, files.ChunkSize + 1, files.PartSize + 7, int64(len(content))} {
		n = min(n, int64(len(content))-off)
		k, err := up.WriteChunk(ctx, off, bytes.NewReader(content[off:off+n]))
		require.NoError(t, err)
		require.Equal(t, n, k)
		off += n
	}
	listed, err := b.svc.List(ctx, staff(1), "salesforce", "case", "500A", 10)
	require.NoError(t, err)
	require.Empty(t, listed, "a pending file is not listed")
	pending, err := store.FileUploadGet(ctx, b.pool, id)
	require.NoError(t, err)
	versions := chunkVersions(t, b.pool, pending.FileID)
	require.Len(t, versions, (len(content)+files.ChunkSize-1)/files.ChunkSize)

	f, err := b.svc.Complete(ctx, id, "application/pdf")
	require.NoError(t, err)
	require.Equal(t, "application/pdf", f.ContentType)
	require.Equal(t, files.StateUnscanned, f.State)
	require.Equal(t, int64(len(content)), f.Size)
	sum := sha256.Sum256(content)
	require.Equal(t, sum[:], f.SHA256, "the hash taken across the parts is the whole file's")
	require.Equal(t, pending.FileID, f.ID, "the pending file became the file")
	require.Equal(t, versions, chunkVersions(t, b.pool, f.ID), "the chunks are the ones the parts wrote")
	require.True(t, bytes.Equal(content, readBack(t, b.svc, *f)))
	n, err := store.FileUploadCounts(ctx, b.pool)
	require.NoError(t, err)
	require.Zero(t, n.Uploads, "the upload is gone, its file stays")
	require.NoError(t, up.(tusd.TerminatableUpload).Terminate(ctx), "terminating a completed upload is a no-op")
	kept, _ := b.count(t)
	require.Equal(t, 1, kept)
}

// TestResumableRefusedOrAbandonedLeavesNothing: a completed upload the
// checks refuse is deleted with its chunks; a terminated or expired one
// leaves nothing either.
func TestResumableRefusedOrAbandonedLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	ctx := context.Background()
	text := []byte(strings.Repeat("plain words ", 1000))
	up, id := b.resumable(t, int64(len(text)), "a.pdf")
	_, err := up.WriteChunk(ctx, 0, bytes.NewReader(text))
	require.NoError(t, err)
	_, err = b.svc.Complete(ctx, id, "application/pdf")
	require.Equal(t, "type_mismatch", refusal(t, err).Code)
	f, c := b.count(t)
	require.Equal(t, [2]int{0, 0}, [2]int{f, c}, "refused: no file, no chunk")

	up, _ = b.resumable(t, int64(len(text)), "b.pdf")
	_, err = up.WriteChunk(ctx, 0, bytes.NewReader(text[:9000]))
	require.NoError(t, err)
	require.NoError(t, up.(tusd.TerminatableUpload).Terminate(ctx))
	up, _ = b.resumable(t, int64(len(text)), "c.pdf")
	_, err = up.WriteChunk(ctx, 0, bytes.NewReader(text[:9000]))
	require.NoError(t, err)
	n, err := files.TusStore{Pool: b.pool}.Expire(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	f, c = b.count(t)
	require.Equal(t, [2]int{0, 0}, [2]int{f, c}, "terminated and expired: no file, no chunk")
}

// chunkVersions are the transactions that wrote a file's chunks, in
// order.
func chunkVersions(t *testing.T, pool *pgxpool.Pool, fileID int64) []store.FileChunkVersionsRow {
	t.Helper()
	v, err := store.FileChunkVersions(context.Background(), pool, fileID)
	require.NoError(t, err)
	return v
}

// readBack is a stored file's whole content, read as a download reads it.
func readBack(t *testing.T, svc *files.Service, f files.File) []byte {
	t.Helper()
	r, err := svc.Open(context.Background(), f)
	require.NoError(t, err)
	defer r.(io.Closer).Close()
	all, err := io.ReadAll(r)
	require.NoError(t, err)
	return all
}

// TestAFileIsVisibleOnlyWithItsRecord: a customer's scope reads file rows
// as portico_api, and row-level security (migration 120) shows a file only
// to a scope that sees its record: another account's scope, or any scope
// once the record is gone, finds no file by its id nor in the record's
// list, whatever the caller checked before.
func TestAFileIsVisibleOnlyWithItsRecord(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `INSERT INTO record (tenant_id, connection, object, source_id, source_object, owner_account, data, raw, mapping_hash)
		VALUES (1, 'salesforce', 'case', '500A', 'Case', '001A', '{}', '{}', 'h')`)
	require.NoError(t, err)
	f, err := b.svc.Store(ctx, upload("report.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)

	owner := store.Scope{TenantID: 1, Accounts: []string{"001A"}}
	got, err := b.svc.Get(ctx, owner, f.ID)
	require.NoError(t, err, "the record's account sees its file")
	require.Equal(t, f.ID, got.ID)
	listed, err := b.svc.List(ctx, owner, "salesforce", "case", "500A", 10)
	require.NoError(t, err)
	require.Len(t, listed, 1)

	other := store.Scope{TenantID: 1, Accounts: []string{"001B"}}
	_, err = b.svc.Get(ctx, other, f.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another account's scope does not see the file")
	listed, err = b.svc.List(ctx, other, "salesforce", "case", "500A", 10)
	require.NoError(t, err)
	require.Empty(t, listed)
	_, err = b.svc.Get(ctx, store.Scope{TenantID: 2, Accounts: []string{"001A"}}, f.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's scope does not see the file")

	_, err = b.pool.Exec(ctx, `UPDATE record SET deleted_at = now() WHERE source_id = '500A'`)
	require.NoError(t, err)
	_, err = b.svc.Get(ctx, owner, f.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted record's file is not shown")
	_, err = b.svc.Get(ctx, staff(1), f.ID)
	require.NoError(t, err, "staff read the tenant's files as the owner")
}
