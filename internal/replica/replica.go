// Package replica routes the API's reads that tolerate lag (lists and
// details of cached records) to a streaming replica of the primary, and
// keeps them honest:
//
//   - it measures the replica's lag periodically, in bytes (the primary's
//     flushed WAL position against the replica's replayed one) and in
//     seconds (how long ago the primary was where the replica has replayed
//     to), exports both, and sends every read to the primary while the lag
//     is above the maximum or the replica cannot be measured;
//   - it gives each session read-your-writes: after a request that may have
//     written, the primary's WAL insert position goes back to the client in
//     a cookie (and is kept in memory per Authorization header, for API
//     clients without cookies), and a later read of that client goes to the
//     replica only once the replica has replayed past it;
//   - a request that writes reads from the primary throughout.
//
// It owns no data and runs no SQL of its own (internal/store does). The
// access scope is applied by the store's reads on whichever pool they are
// given, so row-level security holds on the replica exactly as on the
// primary: a physical replica has the same roles and policies.
package replica

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/porticohq/portico/internal/store"
)

// CookieName is the cookie that carries a client's last write position.
const CookieName = "portico_wal"

// Options configure a Router.
type Options struct {
	Primary *pgxpool.Pool
	// Replica is the read pool; nil routes every read to Primary.
	Replica *pgxpool.Pool
	// MaxLag is the lag above which reads fall back to the primary.
	MaxLag time.Duration
	// Interval is how often the lag is measured; 0 is a quarter of MaxLag,
	// at most one second.
	Interval time.Duration
	// Secure marks the cookie Secure (the portal is served over https).
	Secure bool
	Logger *slog.Logger
}

// Router picks the pool a read goes to. A nil *Router, or one without a
// replica, sends everything to the primary.
type Router struct {
	opts Options

	mu      sync.Mutex
	samples []sample // primary positions not yet replayed, oldest first
	// replayed is the highest position the replica is known to have
	// replayed; it only grows.
	replayed atomic.Int64
	// lagging is set while reads must avoid the replica: lag above the
	// maximum, or no recent measurement.
	lagging   atomic.Bool
	measured  atomic.Int64 // unix nanos of the last good measurement
	lagBytes  atomic.Int64
	lagNanos  atomic.Int64
	clients   sync.Map // [32]byte (Authorization digest) -> int64 position
	reads     *prometheus.CounterVec
	lagSecs   prometheus.GaugeFunc
	lagB      prometheus.GaugeFunc
	replicaUp prometheus.GaugeFunc
}

type sample struct {
	at  time.Time
	pos int64
}

// New returns a Router. Run must run for the replica to be used: until its
// first measurement every read goes to the primary.
func New(opts Options) *Router {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = min(time.Second, max(opts.MaxLag/4, 10*time.Millisecond))
	}
	r := &Router{opts: opts}
	r.lagging.Store(true)
	r.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portico_replica_reads_total",
		Help: "Reads that could go to the replica, by the pool they went to and why: replica; primary for lag (above database.max_replica_lag or not measured), session (the client's own write not replayed yet) or write (a request that writes).",
	}, []string{"pool", "reason"})
	r.lagSecs = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portico_replica_lag_seconds",
		Help: "How long ago the primary was at the WAL position the read replica has replayed to (0 when caught up).",
	}, func() float64 { return time.Duration(r.lagNanos.Load()).Seconds() })
	r.lagB = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portico_replica_lag_bytes",
		Help: "WAL bytes the primary has flushed that the read replica has not replayed yet.",
	}, func() float64 { return float64(r.lagBytes.Load()) })
	r.replicaUp = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portico_replica_in_use",
		Help: "1 while reads go to the read replica, 0 while they fall back to the primary (lag above database.max_replica_lag, or the replica not measured).",
	}, func() float64 {
		if r.lagging.Load() {
			return 0
		}
		return 1
	})
	return r
}

// Collectors are the router's metrics, for the process's registry; none
// without a replica.
func (r *Router) Collectors() []prometheus.Collector {
	if !r.enabled() {
		return nil
	}
	return []prometheus.Collector{r.reads, r.lagSecs, r.lagB, r.replicaUp}
}

// ReplicaPool is the replica's pool, nil without one.
func (r *Router) ReplicaPool() *pgxpool.Pool {
	if r == nil {
		return nil
	}
	return r.opts.Replica
}

func (r *Router) enabled() bool { return r != nil && r.opts.Replica != nil }

// Run measures the lag every interval until ctx ends.
func (r *Router) Run(ctx context.Context) {
	if !r.enabled() {
		return
	}
	tick := time.NewTicker(r.opts.Interval)
	defer tick.Stop()
	failing := false
	for {
		err := r.measure(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			r.opts.Logger.WarnContext(ctx, "cannot measure the read replica's lag; reads go to the primary", slog.String("error", err.Error()))
		case err == nil && failing:
			r.opts.Logger.InfoContext(ctx, "read replica measured again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// measure compares the primary's flushed position with the replica's
// replayed one. The lag in seconds is how long ago the primary was at the
// first position the replica has not replayed, from the positions sampled
// at each measurement: a replica of an idle primary is not lagging, however
// long ago its last replayed transaction was.
func (r *Router) measure(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(r.opts.Interval, time.Second))
	defer cancel()
	flushed, err := store.WALFlushPosition(ctx, r.opts.Primary)
	if err != nil {
		r.stale()
		return err
	}
	row, err := store.WALReplayPosition(ctx, r.opts.Replica)
	if err != nil {
		r.stale()
		return err
	}
	now := time.Now()
	r.sawReplayed(row.Position)
	r.mu.Lock()
	if n := len(r.samples); n == 0 || r.samples[n-1].pos < flushed {
		r.samples = append(r.samples, sample{at: now, pos: flushed})
	}
	i := 0
	for i < len(r.samples) && r.samples[i].pos <= row.Position {
		i++
	}
	r.samples = r.samples[i:]
	var lag time.Duration
	if len(r.samples) > 0 {
		lag = now.Sub(r.samples[0].at)
	}
	r.mu.Unlock()
	r.lagBytes.Store(max(0, flushed-row.Position))
	r.lagNanos.Store(int64(lag))
	r.measured.Store(now.UnixNano())
	r.lagging.Store(lag > r.opts.MaxLag)
	return nil
}

// stale makes reads avoid the replica until it is measured again.
func (r *Router) stale() { r.lagging.Store(true) }

func (r *Router) sawReplayed(pos int64) {
	for {
		old := r.replayed.Load()
		if pos <= old || r.replayed.CompareAndSwap(old, pos) {
			break
		}
	}
	// Clients whose writes the replica has replayed need no entry.
	r.clients.Range(func(k, v any) bool {
		if v.(int64) <= pos {
			r.clients.CompareAndDelete(k, v)
		}
		return true
	})
}

// usable reports whether the replica is measured, recently, under the
// maximum lag.
func (r *Router) usable() bool {
	if r.lagging.Load() {
		return false
	}
	// A measurement that stopped (the loop stuck on a hung query) is no
	// measurement.
	return time.Since(time.Unix(0, r.measured.Load())) <= max(3*r.opts.Interval, time.Second)+r.opts.MaxLag
}

type stateKey struct{}

// state is what the middleware learnt of a request.
type state struct {
	writes bool  // a method that may write: read the primary throughout
	after  int64 // the client's last write position, 0 if none
	client [32]byte
	keyed  bool
	// caught is set once the replica was seen past after during this
	// request, so that a second read needs no check.
	caught atomic.Bool
}

// Primary marks ctx's reads for the primary: a read whose result is kept
// where the primary's notifications invalidate it (the page cache) must not
// come from a replica that has not replayed the change notified.
func Primary(ctx context.Context) context.Context {
	return context.WithValue(ctx, stateKey{}, &state{writes: true})
}

// Read returns the pool for a lag-tolerant read in ctx.
func (r *Router) Read(ctx context.Context) *pgxpool.Pool {
	if !r.enabled() {
		return r.primary()
	}
	st, _ := ctx.Value(stateKey{}).(*state)
	switch {
	case st != nil && st.writes:
		return r.count(r.opts.Primary, "primary", "write")
	case !r.usable():
		return r.count(r.opts.Primary, "primary", "lag")
	case st != nil && !r.replayedPast(ctx, st):
		return r.count(r.opts.Primary, "primary", "session")
	}
	return r.count(r.opts.Replica, "replica", "replica")
}

func (r *Router) primary() *pgxpool.Pool {
	if r == nil {
		return nil
	}
	return r.opts.Primary
}

func (r *Router) count(p *pgxpool.Pool, pool, reason string) *pgxpool.Pool {
	r.reads.WithLabelValues(pool, reason).Inc()
	return p
}

// replayedPast reports whether the replica has replayed the client's last
// write: from what is known, or else by asking the replica once.
func (r *Router) replayedPast(ctx context.Context, st *state) bool {
	after := st.after
	if st.keyed {
		if v, ok := r.clients.Load(st.client); ok {
			after = max(after, v.(int64))
		}
	}
	if after == 0 || after <= r.replayed.Load() || st.caught.Load() {
		return true
	}
	row, err := store.WALReplayPosition(ctx, r.opts.Replica)
	if err != nil {
		return false
	}
	r.sawReplayed(row.Position)
	if row.Position < after {
		return false
	}
	st.caught.Store(true)
	return true
}

// Middleware notes each request's client position (the cookie, or the
// position kept for its Authorization header) and, for a request that may
// write, sends reads to the primary and gives the client the primary's WAL
// position with the response, once the handler has committed.
func (r *Router) Middleware(next http.Handler) http.Handler {
	if !r.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		st := &state{writes: !safe(req.Method)}
		if c, err := req.Cookie(CookieName); err == nil {
			if v, err := strconv.ParseInt(c.Value, 10, 64); err == nil && v > 0 {
				st.after = v
			}
		}
		if a := req.Header.Get("Authorization"); a != "" {
			st.client, st.keyed = sha256.Sum256([]byte(a)), true
		}
		ctx := context.WithValue(req.Context(), stateKey{}, st)
		if !st.writes {
			next.ServeHTTP(w, req.WithContext(ctx))
			return
		}
		next.ServeHTTP(&remember{ResponseWriter: w, r: r, req: req, st: st}, req.WithContext(ctx))
	})
}

// safe methods do not write.
func safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// remember sets the write position on a successful response before its
// header goes out: the handler has committed by then.
type remember struct {
	http.ResponseWriter
	r    *Router
	req  *http.Request
	st   *state
	done bool
}

func (m *remember) WriteHeader(code int) {
	if !m.done {
		m.done = true
		if code < 400 {
			m.r.remember(m.req.Context(), m.ResponseWriter, m.st)
		}
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *remember) Write(b []byte) (int, error) {
	if !m.done {
		m.WriteHeader(http.StatusOK)
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (m *remember) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func (r *Router) remember(ctx context.Context, w http.ResponseWriter, st *state) {
	pos, err := store.WALInsertPosition(ctx, r.opts.Primary)
	if err != nil {
		r.opts.Logger.WarnContext(ctx, "reading the primary's WAL position after a write; the client's next reads may miss it on the replica", slog.String("error", err.Error()))
		return
	}
	if pos <= r.replayed.Load() {
		return
	}
	if st.keyed {
		r.clients.Store(st.client, pos)
	}
	// The cookie is needed only while the replica may be behind it: once
	// the lag is under the maximum, it has replayed what was written
	// MaxLag ago.
	age := r.opts.MaxLag + 3*r.opts.Interval + time.Second
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: strconv.FormatInt(pos, 10), Path: "/",
		MaxAge: int(age.Seconds()) + 1, HttpOnly: true, Secure: r.opts.Secure, SameSite: http.SameSiteLaxMode})
}
