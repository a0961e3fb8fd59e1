package syncer

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/fleet"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// ConnHealth reports a connection's breaker and quota.
type ConnHealth interface {
	BreakerState(connection string) string
	QuotaRemaining(connection string) (minute, day int) // -1: no limit known
}

// FleetHealth is the view every process shares, when the connections'
// budgets and breakers are shared (internal/fleet).
type FleetHealth interface {
	FleetStatus(ctx context.Context) (map[string]fleet.Status, error)
}

// ConnectionStatus is one connection's sync health.
type ConnectionStatus struct {
	Connection string      `json:"connection"`
	Breaker    string      `json:"breaker"`
	Quota      QuotaStatus `json:"quota_remaining"`
	// Fleet is the budget and breaker every process shares: the calls all
	// of them spent, and which process tripped the breaker.
	Fleet   *fleet.Status  `json:"fleet,omitempty"`
	Objects []ObjectStatus `json:"objects"`
}

// QuotaStatus is the budget left; -1 means no limit is known.
type QuotaStatus struct {
	Minute int `json:"minute"`
	Day    int `json:"day"`
}

// ObjectStatus is one synced object's health.
type ObjectStatus struct {
	Object        string     `json:"object"`
	Portal        string     `json:"portal_object"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LagSeconds    *float64   `json:"lag_seconds"`
	Records       int64      `json:"records"`
	Tombstoned    int64      `json:"tombstoned"`
	// WithoutOwner counts live records with no owner account: no customer
	// sees them (an invoice whose customer has no portal account, say).
	WithoutOwner int64 `json:"without_owner"`
	// OwnerDerivable counts those of them whose owner is known now through
	// their cross-reference or parent. Anything but 0 after a settled sync
	// is a fault: customers miss records they own.
	OwnerDerivable int64      `json:"owner_derivable"`
	LastError      string     `json:"last_error,omitempty"`
	LastErrorAt    *time.Time `json:"last_error_at,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	Runs           []RunInfo  `json:"last_runs"`
	// NewSourcePaths are the source paths the mapping reads that the stored
	// payloads were not pulled with: a full re-pull (EnqueueRepulls) is due
	// or running, and those fields are empty until it ends.
	NewSourcePaths []string `json:"new_source_paths,omitempty"`
	// FullSyncInProgress: a full sync stopped part-way resumes from its
	// last stored page.
	FullSyncInProgress bool `json:"full_sync_in_progress,omitempty"`
}

// RunInfo is the newest run of one kind.
type RunInfo struct {
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Records     int32      `json:"records"`
	Deleted     int32      `json:"deleted"`
	Differences *int32     `json:"differences,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// Status reports every synced object, grouped by connection.
func (s *Syncer) Status(ctx context.Context, health ConnHealth) ([]ConnectionStatus, error) {
	cursors, err := store.SyncCursorList(ctx, s.opts.Pool, s.opts.TenantID)
	if err != nil {
		return nil, fmt.Errorf("syncer: %w", err)
	}
	byKey := map[string]store.SyncCursor{}
	for _, c := range cursors {
		byKey[c.Connection+"/"+c.Object] = c
	}
	runs, err := store.SyncRunLatest(ctx, s.opts.Pool, s.opts.TenantID)
	if err != nil {
		return nil, fmt.Errorf("syncer: %w", err)
	}
	runsByKey := map[string][]RunInfo{}
	for _, r := range runs {
		ri := RunInfo{Kind: r.Kind, State: r.State, StartedAt: r.StartedAt.Time, Records: r.Records, Deleted: r.Deleted, Error: r.Error.String}
		if r.FinishedAt.Valid {
			t := r.FinishedAt.Time
			ri.FinishedAt = &t
		}
		if r.Differences.Valid {
			d := r.Differences.Int32
			ri.Differences = &d
		}
		k := r.Connection + "/" + r.Object
		runsByKey[k] = append(runsByKey[k], ri)
	}

	var shared map[string]fleet.Status
	if fh, ok := health.(FleetHealth); ok {
		if shared, err = fh.FleetStatus(ctx); err != nil {
			return nil, fmt.Errorf("syncer: %w", err)
		}
	}
	var out []ConnectionStatus
	index := map[string]int{}
	now := s.opts.Now()
	for _, t := range s.Targets() {
		i, ok := index[t.Connection]
		if !ok {
			cs := ConnectionStatus{Connection: t.Connection, Breaker: "unknown", Quota: QuotaStatus{-1, -1}}
			if health != nil {
				cs.Breaker = health.BreakerState(t.Connection)
				cs.Quota.Minute, cs.Quota.Day = health.QuotaRemaining(t.Connection)
			}
			if f, ok := shared[t.Connection]; ok {
				cs.Fleet = &f
			}
			out = append(out, cs)
			i = len(out) - 1
			index[t.Connection] = i
		}
		os := ObjectStatus{Object: t.Object, Portal: t.Portal, Runs: runsByKey[t.Connection+"/"+t.Object]}
		if os.Runs == nil {
			os.Runs = []RunInfo{}
		}
		if c, ok := byKey[t.Connection+"/"+t.Object]; ok {
			if c.LastSuccessAt.Valid {
				ts := c.LastSuccessAt.Time
				os.LastSuccessAt = &ts
			}
			if c.SyncedThrough.Valid {
				lag := now.Sub(c.SyncedThrough.Time).Seconds()
				os.LagSeconds = &lag
			}
			os.LastError = c.LastError.String
			if c.LastErrorAt.Valid {
				ts := c.LastErrorAt.Time
				os.LastErrorAt = &ts
			}
			if c.FailingSince.Valid {
				ts := c.FailingSince.Time
				os.FailingSince = &ts
			}
			os.FullSyncInProgress = c.FullPage.Valid
			if obj, ok := s.opts.Mappings.BySource(t.Connection, t.Object); ok {
				os.NewSourcePaths = newPaths(obj.SourcePaths(), c.SourcePaths)
			}
		}
		counts, err := store.RecordCount(ctx, s.opts.Pool, store.RecordCountParams{TenantID: s.opts.TenantID, Connection: t.Connection, SourceObject: t.Object})
		if err != nil {
			return nil, fmt.Errorf("syncer: %w", err)
		}
		os.Records, os.Tombstoned = counts.Live, counts.Tombstoned
		os.WithoutOwner, os.OwnerDerivable = counts.WithoutOwner, counts.OwnerDerivable
		out[i].Objects = append(out[i].Objects, os)
	}
	return out, nil
}

// AdminRequest is an operator's request for a sync, as the admin route
// hands it to its caller to enqueue and audit.
type AdminRequest struct {
	Args    SyncArgs
	Request *http.Request
}

// AdminRoutes serves GET / (mounted at /admin/sync) with the status JSON,
// and POST /{connection}/{object}?mode=incremental|full|reconcile, which
// has enqueue schedule the sync (and audit who asked) and answers 202.
func (s *Syncer) AdminRoutes(health ConnHealth, enqueue func(AdminRequest) error) chi.Router {
	r := chi.NewRouter()
	rp := reply.New(s.opts.Logger)
	r.Post("/{connection}/{object}", func(w http.ResponseWriter, req *http.Request) {
		args := SyncArgs{Connection: chi.URLParam(req, "connection"), Object: chi.URLParam(req, "object"), Mode: Kind(req.URL.Query().Get("mode"))}
		if args.Mode == "" {
			args.Mode = KindIncremental
		}
		switch args.Mode {
		case KindIncremental, KindFull, KindReconcile:
		default:
			msg := "mode must be incremental, full or reconcile"
			rp.Error(w, req, http.StatusBadRequest, "invalid", msg, reply.Field{Path: "mode", Message: msg})
			return
		}
		if _, _, err := s.target(args.Connection, args.Object); err != nil {
			msg := "no synced object " + args.Object + " on connection " + args.Connection
			rp.Error(w, req, http.StatusNotFound, "not_found", msg, reply.Field{Path: "object", Message: msg})
			return
		}
		if err := enqueue(AdminRequest{Args: args, Request: req}); err != nil {
			rp.Fail(w, req, &reply.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "could not schedule the sync",
				Cause: fmt.Errorf("syncer: scheduling %s %s: %w", args.Connection, args.Object, err)})
			return
		}
		rp.JSON(w, req, http.StatusAccepted, map[string]any{"scheduled": args})
	})
	r.Get("/", func(w http.ResponseWriter, req *http.Request) {
		st, err := s.Status(req.Context(), health)
		if err != nil {
			rp.Fail(w, req, &reply.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "sync status unavailable", Cause: err})
			return
		}
		if st == nil {
			st = []ConnectionStatus{}
		}
		rp.JSON(w, req, http.StatusOK, map[string]any{"connections": st})
	})
	return r
}
