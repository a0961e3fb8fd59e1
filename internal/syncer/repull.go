package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/store"
)

// Repull is a target whose mapping reads source paths its stored payloads
// were not pulled with.
type Repull struct {
	Connection string   `json:"connection"`
	Object     string   `json:"object"`
	Paths      []string `json:"paths"` // the new ones
}

// NewPaths lists the source paths the target's mapping reads that its
// stored payloads were not pulled with: a re-map cannot fill them (the
// payloads lack the field), a full re-pull does. Empty when there are
// none, and for an object never synced or whose paths are not known yet.
func (s *Syncer) NewPaths(ctx context.Context, connection, object string) ([]string, error) {
	_, obj, err := s.target(connection, object)
	if err != nil {
		return nil, err
	}
	cur, err := store.SyncCursorGet(ctx, s.opts.Pool, store.SyncCursorGetParams(s.cursorKey(connection, object)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("syncer: %w", err)
	}
	return newPaths(obj.SourcePaths(), cur.SourcePaths), nil
}

// newPaths lists what reads has that pulled lacks; nothing when pulled is
// not known.
func newPaths(reads, pulled []string) []string {
	if pulled == nil {
		return nil
	}
	var out []string
	for _, p := range reads {
		if !slices.Contains(pulled, p) {
			out = append(out, p)
		}
	}
	return out
}

// Repulls lists every target whose mapping reads new source paths.
func (s *Syncer) Repulls(ctx context.Context) ([]Repull, error) {
	var out []Repull
	for _, t := range s.Targets() {
		paths, err := s.NewPaths(ctx, t.Connection, t.Object)
		if err != nil {
			return nil, err
		}
		if len(paths) > 0 {
			out = append(out, Repull{Connection: t.Connection, Object: t.Object, Paths: paths})
		}
	}
	return out, nil
}

// EnqueueRepulls schedules a full sync of every target whose mapping reads
// new source paths, as after a deploy whose mapping added a source field.
// A full sync is resumable (it goes on from its last stored page), shows
// in `sync status` and GET /admin/sync as a running full run, and records
// the paths when it completes, so it is asked for once.
func (s *Syncer) EnqueueRepulls(ctx context.Context, ins Inserter) ([]Repull, error) {
	due, err := s.Repulls(ctx)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	params := make([]river.InsertManyParams, len(due))
	for i, r := range due {
		params[i] = river.InsertManyParams{Args: SyncArgs{Connection: r.Connection, Object: r.Object, Mode: KindFull}}
	}
	if _, err := ins.InsertMany(ctx, params); err != nil {
		return nil, fmt.Errorf("syncer: %w", err)
	}
	return due, nil
}
