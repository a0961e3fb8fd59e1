package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/store"
)

// Reconcile compares the ids and versions of every live cached record of
// one object with the source, repairs what differs and reports how many
// differences it found. A cached record the full listing lacks is only
// tombstoned once a direct read confirms the source no longer has it: a
// listing can miss a record that is merely not yet visible to queries.
func (s *Syncer) Reconcile(ctx context.Context, connection, object string) (res Result, err error) {
	conn, obj, err := s.target(connection, object)
	if err != nil {
		return Result{}, err
	}
	key := s.cursorKey(connection, object)
	if _, err := store.SyncCursorEnsure(ctx, s.opts.Pool, key); err != nil {
		return Result{}, fmt.Errorf("syncer: %w", err)
	}
	run, err := s.startRun(ctx, connection, object, KindReconcile, store.SyncCursor{})
	if err != nil {
		return Result{}, err
	}
	res = Result{RunID: run, Kind: KindReconcile}
	defer func() { s.finishRun(ctx, connection, object, &res, err) }()

	cached := map[string]string{}
	vrows, err := store.RecordVersions(ctx, s.opts.Pool, store.RecordVersionsParams{
		TenantID: key.TenantID, Connection: connection, SourceObject: object,
	})
	if err != nil {
		return res, fmt.Errorf("syncer: %w", err)
	}
	for _, v := range vrows {
		cached[v.SourceID] = v.SourceVersion
	}

	seen := make(map[string]bool, len(cached))
	req := connectors.PullRequest{Object: object, Limit: s.opts.PageSize}
	for {
		page, err := conn.Pull(ctx, req)
		if err != nil {
			return res, fmt.Errorf("syncer: reconcile %s %s page %d: %w", connection, object, res.Pages+1, err)
		}
		var repair []connectors.Record
		for _, rec := range page.Records {
			seen[rec.ID] = true
			if v, ok := cached[rec.ID]; !ok || v != rec.Version {
				res.Differences++
				repair = append(repair, rec)
			}
		}
		fixed := *page
		fixed.Records = repair
		fixed.Cursor = "" // reconciliation never moves the incremental cursor
		if err := s.storePage(ctx, key, obj, KindReconcile, run, &fixed, &res); err != nil {
			return res, err
		}
		if page.Next == "" {
			break
		}
		req.Page = page.Next
	}

	// Only a complete listing may suggest deletions; each is confirmed.
	var gone []string
	for id := range cached {
		if seen[id] {
			continue
		}
		rec, err := conn.Get(ctx, object, id)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			gone = append(gone, id)
		case err != nil:
			return res, fmt.Errorf("syncer: reconcile confirming %s %s %s: %w", connection, object, id, err)
		case rec.Version != cached[id]:
			res.Differences++
			if err := s.storePage(ctx, key, obj, KindReconcile, run, &connectors.Page{Records: []connectors.Record{*rec}}, &res); err != nil {
				return res, err
			}
		}
	}
	if len(gone) > 0 {
		res.Differences += len(gone)
		err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
			n, err := store.Tombstone(ctx, tx, key.TenantID, connection, obj.Name(), gone, time.Time{})
			res.Deleted += int(n)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("syncer: %w", err)
		}
	}
	return res, nil
}
