package syncer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// RemapProgress reports a re-map in flight.
type RemapProgress struct {
	Connection, Object string
	Done, Total        int64
}

// Pending counts the live records of a target mapped with an older
// mapping than the current one.
func (s *Syncer) Pending(ctx context.Context, connection, object string) (int64, error) {
	_, obj, err := s.target(connection, object)
	if err != nil {
		return 0, err
	}
	return store.RecordCountByMappingHash(ctx, s.opts.Pool, store.RecordCountByMappingHashParams{
		TenantID: s.opts.TenantID, Connection: connection, SourceObject: object, CurrentHash: obj.Hash(),
	})
}

// Remap maps the stored raw payloads of one target again with the current
// mapping, without calling the source, so a mapping change does not pause
// or redo the sync. It walks the records in id order and only those still
// mapped with an older hash, so an interrupted run resumes where it
// stopped. progress may be nil.
func (s *Syncer) Remap(ctx context.Context, connection, object string, progress func(RemapProgress)) (int64, error) {
	_, obj, err := s.target(connection, object)
	if err != nil {
		return 0, err
	}
	total, err := s.Pending(ctx, connection, object)
	if err != nil {
		return 0, err
	}
	var done int64
	after := ""
	for {
		batch, err := store.RecordsByMappingHash(ctx, s.opts.Pool, store.RecordsByMappingHashParams{
			TenantID: s.opts.TenantID, Connection: connection, SourceObject: object,
			CurrentHash: obj.Hash(), AfterID: after, MaxRows: 1000,
		})
		if err != nil {
			return done, fmt.Errorf("syncer: remap %s %s: %w", connection, object, err)
		}
		if len(batch) == 0 {
			return done, nil
		}
		p := store.RecordRemapBatchParams{MappingHash: obj.Hash(), TenantID: s.opts.TenantID, Connection: connection, Object: obj.Name()}
		rows := make([]store.Row, 0, len(batch))
		for _, r := range batch {
			row, err := MapRecord(obj, connectors.Record{Object: object, ID: r.SourceID, Raw: r.Raw})
			if err != nil {
				return done, err
			}
			rows = append(rows, row)
			p.SourceIds = append(p.SourceIds, r.SourceID)
			p.OwnerAccounts = append(p.OwnerAccounts, row.OwnerAccount)
			p.OwnerRefKeys = append(p.OwnerRefKeys, row.OwnerRefKey)
			p.OwnerRefValues = append(p.OwnerRefValues, row.OwnerRefValue)
			p.OwnerContacts = append(p.OwnerContacts, row.OwnerContact)
			p.OwnerParentObjects = append(p.OwnerParentObjects, row.OwnerParentObject)
			p.OwnerParentIds = append(p.OwnerParentIds, row.OwnerParentID)
			p.Hiddens = append(p.Hiddens, row.Hidden)
			p.Statuses = append(p.Statuses, row.Status)
			p.Datas = append(p.Datas, string(row.Data))
		}
		err = pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
			// Re-deriving owners races concurrent syncs like an upsert does.
			if err := store.LockDerived(ctx, tx, s.opts.TenantID, connection, rows); err != nil {
				return err
			}
			n, err := store.RecordRemapBatch(ctx, tx, p)
			done += n
			if err != nil {
				return err
			}
			return store.ResolveChildren(ctx, tx, s.opts.TenantID, connection, obj.Name(), p.SourceIds)
		})
		if err != nil {
			return done, fmt.Errorf("syncer: remap %s %s: %w", connection, object, err)
		}
		after = batch[len(batch)-1].SourceID
		if progress != nil {
			progress(RemapProgress{Connection: connection, Object: object, Done: done, Total: total})
		}
	}
}

// RemapArgs re-maps one target's stored records after a mapping change.
type RemapArgs struct {
	Connection string `json:"connection"`
	Object     string `json:"object"`
}

// Kind implements river.JobArgs.
func (RemapArgs) Kind() string { return "sync_remap" }

// InsertOpts: one re-map of a target at a time.
func (RemapArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueSync, UniqueOpts: uniqueWhileQueued}
}

// RemapWorker works RemapArgs.
type RemapWorker struct {
	river.WorkerDefaults[RemapArgs]
	Syncer *Syncer
}

// Work implements river.Worker.
func (w *RemapWorker) Work(ctx context.Context, job *river.Job[RemapArgs]) error {
	_, err := w.Syncer.Remap(ctx, job.Args.Connection, job.Args.Object, nil)
	return err
}

// EnqueueRemaps schedules a re-map of every target that has records mapped
// with an older mapping, as after a deploy that changed a mapping file.
func (s *Syncer) EnqueueRemaps(ctx context.Context, ins Inserter) (int, error) {
	var params []river.InsertManyParams
	for _, t := range s.Targets() {
		n, err := s.Pending(ctx, t.Connection, t.Object)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			params = append(params, river.InsertManyParams{Args: RemapArgs{Connection: t.Connection, Object: t.Object}})
		}
	}
	if len(params) == 0 {
		return 0, nil
	}
	_, err := ins.InsertMany(ctx, params)
	return len(params), err
}
