package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/porticohq/portico/internal/store"
)

// Stored is one piece of content a Lister found.
type Stored struct {
	// Key is the storage key the content is kept under (a file row's
	// storage_key); for a temporary file, the key it was being written
	// for.
	Key string
	// Temp marks a temporary file a write left behind (DirBlobs: a crash
	// mid-write): never a file's content, whatever its key.
	Temp bool
	// Modified is when the content was last written.
	Modified time.Time
	// name is where the store keeps it (a path, an object name), so that
	// Discard removes exactly what List found.
	name string
}

// Lister is a Blobs whose content lives outside the upload's transaction
// and can be walked: a crash (or a failed commit whose cleanup did not
// run) between writing the content and committing the row leaves content
// no row names, which SweepOrphans finds through it. PGBlobs has none.
type Lister interface {
	// List calls fn for each piece of content under the store's keys, in
	// no particular order, until fn returns an error. Anything else the
	// directory or bucket holds is not listed.
	List(ctx context.Context, fn func(Stored) error) error
	// Discard removes a piece List found; one already gone is no error
	// (two workers may sweep at once).
	Discard(ctx context.Context, s Stored) error
}

// errNotListed is a Discard of a Stored that List did not yield.
var errNotListed = errors.New("files: discarding content that was not listed")

// DefaultOrphanGrace is how old content must be before the sweep takes it
// for an orphan: far longer than any upload takes from its first byte to
// its row's commit (S3 dates a multipart object from the upload's start).
const DefaultOrphanGrace = time.Hour

// orphanBatch is how many keys one lookup asks about.
const orphanBatch = 1000

// validKey reports whether name has the form of a storage key (newKey: 32
// lowercase hex digits), so that the sweep never touches anything else a
// shared directory or bucket holds.
func validKey(name string) bool {
	if len(name) != 32 {
		return false
	}
	for _, c := range []byte(name) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Sweeps reports whether the store's content is swept for orphans (its
// Blobs is a Lister).
func (s *Service) Sweeps() bool {
	_, ok := s.opts.Blobs.(Lister)
	return ok
}

// SweepOrphans removes the content last written before now-grace that no
// file row names, and the temporary files older than that; it returns how
// many it removed. Content younger than grace may be an upload in flight,
// whose row is not committed yet, and is kept. A store that is not a
// Lister has nothing to sweep.
func (s *Service) SweepOrphans(ctx context.Context, grace time.Duration, now time.Time) (int64, error) {
	l, ok := s.opts.Blobs.(Lister)
	if !ok {
		return 0, nil
	}
	// Under row-level security some rows would look missing, and their
	// content orphaned.
	rls, err := store.FileRowSecurityActive(ctx, s.opts.Pool)
	if err != nil {
		return 0, fmt.Errorf("files: sweep: %w", err)
	}
	if rls {
		return 0, errors.New("files: sweep: the connection does not see every file row (row-level security)")
	}
	sw := &sweep{db: s.opts.Pool, l: l, cutoff: now.Add(-grace)}
	err = l.List(ctx, func(st Stored) error { return sw.take(ctx, st) })
	if err == nil {
		err = sw.flush(ctx)
	}
	if err != nil {
		return sw.removed, fmt.Errorf("files: sweep: %w", err)
	}
	if sw.failed > 0 {
		return sw.removed, fmt.Errorf("files: sweep: %d not removed, the first: %w", sw.failed, sw.firstErr)
	}
	return sw.removed, nil
}

// sweep is one run's state: the old pieces waiting for their lookup, and
// what was removed.
type sweep struct {
	db       store.DBTX
	l        Lister
	cutoff   time.Time
	batch    []Stored
	removed  int64
	failed   int64
	firstErr error
}

// take removes an old temporary file at once, and queues old content for
// the lookup of its key.
func (sw *sweep) take(ctx context.Context, st Stored) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !st.Modified.Before(sw.cutoff) {
		return nil
	}
	if st.Temp {
		sw.discard(ctx, st)
		return nil
	}
	sw.batch = append(sw.batch, st)
	if len(sw.batch) < orphanBatch {
		return nil
	}
	return sw.flush(ctx)
}

// flush looks the queued keys up in one query and removes the content of
// those no row names.
func (sw *sweep) flush(ctx context.Context) error {
	if len(sw.batch) == 0 {
		return nil
	}
	keys := make([]string, len(sw.batch))
	for i, st := range sw.batch {
		keys[i] = st.Key
	}
	found, err := store.FileKeysStored(ctx, sw.db, keys)
	if err != nil {
		return fmt.Errorf("looking up storage keys: %w", err)
	}
	kept := make(map[string]bool, len(found))
	for _, k := range found {
		kept[k] = true
	}
	for _, st := range sw.batch {
		if !kept[st.Key] {
			sw.discard(ctx, st)
		}
	}
	sw.batch = sw.batch[:0]
	return nil
}

// discard removes one piece; a failure is counted and the sweep goes on,
// so that one piece it cannot remove does not keep it from the rest.
func (sw *sweep) discard(ctx context.Context, st Stored) {
	if err := sw.l.Discard(ctx, st); err != nil {
		if sw.failed == 0 {
			sw.firstErr = err
		}
		sw.failed++
		return
	}
	sw.removed++
}
