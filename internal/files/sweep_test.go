package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
)

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// orphan writes content under key with no file row, as an upload that
// crashed before its commit leaves it.
func orphan(t *testing.T, blobs files.Blobs, key string) {
	t.Helper()
	_, err := blobs.Write(context.Background(), nil, files.File{Key: key}, bytes.NewReader(pdf))
	require.NoError(t, err)
}

// pendingKey starts a resumable upload: a file row in state scanning,
// whose key names no content yet.
func pendingKey(t *testing.T, b bundle) string {
	t.Helper()
	_, id := b.resumable(t, 1000, "pending.pdf")
	var key string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT f.storage_key FROM file f JOIN file_upload u ON u.file_id = f.id WHERE u.id = $1", id).Scan(&key))
	return key
}

// TestDirSweep: the sweep of the directory store removes the content no
// row names once it is older than the grace, and old temporary files; it
// keeps the content of rows (a stored file, a pending resumable upload's
// file), content younger than the grace (an upload in flight), young
// temporary files, and what is not the store's (not named as a key, or
// not in a key's place). A second sweep finds
// nothing and fails on nothing.
func TestDirSweep(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	b := setup(t, files.Options{Blobs: blobs})
	ctx := context.Background()
	now := time.Now()
	old, young := now.Add(-3*time.Hour), now.Add(-50*time.Minute)
	at := func(key string) string { return filepath.Join(root, key[:2], key[2:4], key) }
	age := func(p string, when time.Time) {
		t.Helper()
		require.NoError(t, os.Chtimes(p, when, when))
	}

	f, err := b.svc.Store(ctx, upload("kept.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)
	age(at(f.Key), old)
	pending := pendingKey(t, b)
	orphan(t, blobs, pending)
	age(at(pending), old)
	gone, inFlight := randomKey(t), randomKey(t)
	orphan(t, blobs, gone)
	age(at(gone), old)
	orphan(t, blobs, inFlight)
	age(at(inFlight), young)
	oldTemp := filepath.Join(root, "tmp", randomKey(t)+"-123")
	youngTemp := filepath.Join(root, "tmp", randomKey(t)+"-456")
	require.NoError(t, os.WriteFile(oldTemp, pdf[:10], 0o600))
	age(oldTemp, old)
	require.NoError(t, os.WriteFile(youngTemp, pdf[:10], 0o600))
	age(youngTemp, young)
	// Not the store's: a file at the root, one of a key's form in the
	// wrong place, in their places names one digit too long and not hex.
	foreign := []string{filepath.Join(root, "README"), filepath.Join(root, "00", "00", randomKey(t)),
		at(randomKey(t) + "0"), at(strings.Repeat("z", 32))}
	for _, p := range foreign {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, pdf, 0o600))
		age(p, old)
	}

	n, err := b.svc.SweepOrphans(ctx, time.Hour, now)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "the old orphan and the old temporary file")
	require.NoFileExists(t, at(gone), "old content without a row is removed")
	require.NoFileExists(t, oldTemp, "an old temporary file is removed")
	require.FileExists(t, at(f.Key), "a stored file's content stays, however old")
	require.FileExists(t, at(pending), "a pending file's content stays: its row exists, whatever its state")
	require.FileExists(t, at(inFlight), "content younger than the grace stays (an upload in flight)")
	require.FileExists(t, youngTemp, "a young temporary file stays (a write in progress)")
	for _, p := range foreign {
		require.FileExists(t, p, "what is not the store's stays")
	}
	require.True(t, bytes.Equal(pdf, readBack(t, b.svc, *f)))

	n, err = b.svc.SweepOrphans(ctx, time.Hour, now)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestDiscardGoneIsNoError: content another sweep removed between this
// one's listing and its removal is no error, for both stores.
func TestDiscardGoneIsNoError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := files.NewDirBlobs(t.TempDir())
	require.NoError(t, err)
	s3, _ := s3Blobs(t)
	for name, l := range map[string]interface {
		files.Blobs
		files.Lister
		files.Remover
	}{"dir": dir, "s3": s3} {
		key := randomKey(t)
		orphan(t, l, key)
		var listed []files.Stored
		require.NoError(t, l.List(ctx, func(s files.Stored) error { listed = append(listed, s); return nil }), name)
		require.Len(t, listed, 1, name)
		require.Equal(t, key, listed[0].Key, name)
		require.NoError(t, l.Remove(ctx, files.File{Key: key}), name)
		require.NoError(t, l.Discard(ctx, listed[0]), name)
		require.Error(t, l.Discard(ctx, files.Stored{Key: key}), "%s: only what List found is discarded", name)
	}
}

// clock is a gofakes3 time source the test moves, safe for the fake
// server's goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestS3Sweep: the sweep of the S3 store removes the objects no row names
// once older than the grace; it keeps a stored file's object, a pending
// file's, an object younger than the grace, and the objects that are not
// the store's (outside its prefix, or not named as a key).
func TestS3Sweep(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	c := &clock{now: start}
	blobs, backend := s3Blobs(t, s3mem.WithTimeSource(c))
	b := setup(t, files.Options{Blobs: blobs})
	ctx := context.Background()
	has := func(name string) bool {
		_, err := backend.HeadObject("portico-files", name)
		if err != nil {
			require.True(t, gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey), err)
		}
		return err == nil
	}

	f, err := b.svc.Store(ctx, upload("kept.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)
	pending := pendingKey(t, b)
	orphan(t, blobs, pending)
	gone := randomKey(t)
	orphan(t, blobs, gone)
	foreign := []string{"other/" + randomKey(t), "uploads/README", "uploads/x/" + randomKey(t), "uploads/" + randomKey(t) + "0",
		"uploads/" + strings.Repeat("z", 32)}
	for _, name := range foreign {
		_, err := backend.PutObject("portico-files", name, nil, bytes.NewReader(pdf), int64(len(pdf)), nil)
		require.NoError(t, err)
	}
	c.advance(2*time.Hour + 10*time.Minute) // now start+2h10m: 50 minutes before the sweep
	inFlight := randomKey(t)
	orphan(t, blobs, inFlight)

	n, err := b.svc.SweepOrphans(ctx, time.Hour, start.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the old orphan")
	require.False(t, has("uploads/"+gone), "an old object without a row is removed")
	require.True(t, has("uploads/"+f.Key), "a stored file's object stays, however old")
	require.True(t, has("uploads/"+pending), "a pending file's object stays: its row exists, whatever its state")
	require.True(t, has("uploads/"+inFlight), "an object younger than the grace stays (an upload in flight)")
	for _, name := range foreign {
		require.True(t, has(name), "%s is not the store's: it stays", name)
	}
	require.True(t, bytes.Equal(pdf, readBack(t, b.svc, *f)))

	n, err = b.svc.SweepOrphans(ctx, time.Hour, start.Add(3*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSweepNothingInPostgreSQL: the default store keeps content with its
// row and has nothing to sweep.
func TestSweepNothingInPostgreSQL(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Options{})
	require.False(t, b.svc.Sweeps())
	n, err := b.svc.SweepOrphans(context.Background(), time.Hour, time.Now())
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSweepRefusesRowSecurity: a sweep on a connection under row-level
// security (the API's role), which would not see every file row, refuses
// to run rather than take the rows it cannot see for missing.
func TestSweepRefusesRowSecurity(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	owner, url := dbtest.PoolURL(t)
	ctx := context.Background()
	f, err := files.New(files.Options{Pool: owner, Blobs: blobs}).Store(ctx, upload("kept.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)
	kept := filepath.Join(root, f.Key[:2], f.Key[2:4], f.Key)
	old := time.Now().Add(-3 * time.Hour)
	require.NoError(t, os.Chtimes(kept, old, old))

	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["role"] = "portico_api"
	api, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(api.Close)

	n, err := files.New(files.Options{Pool: api, Blobs: blobs}).SweepOrphans(ctx, time.Hour, time.Now())
	require.ErrorContains(t, err, "row-level security")
	require.Zero(t, n)
	require.FileExists(t, kept)
}

// TestDirSweepInBatches: more orphans than one lookup asks about are all
// removed, each once, and a stored file among them stays.
func TestDirSweepInBatches(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	b := setup(t, files.Options{Blobs: blobs})
	ctx := context.Background()
	old := time.Now().Add(-3 * time.Hour)
	const orphans = 2100 // over two lookups' worth
	for range orphans {
		// Written in place without the store's sync, which would take
		// seconds for this many.
		key := randomKey(t)
		p := filepath.Join(root, key[:2], key[2:4], key)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, pdf, 0o600))
	}
	f, err := b.svc.Store(ctx, upload("kept.pdf", "application/pdf", bytes.NewReader(pdf)))
	require.NoError(t, err)
	for _, p := range storedFiles(t, root) {
		require.NoError(t, os.Chtimes(p, old, old))
	}

	n, err := b.svc.SweepOrphans(ctx, time.Hour, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(orphans), n)
	require.Equal(t, []string{filepath.Join(root, f.Key[:2], f.Key[2:4], f.Key)}, storedFiles(t, root))
}
