package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

// procFleet is real `portico serve` and `portico worker` processes on one
// database and one simulated Salesforce, with portal customers to drive
// them.
type procFleet struct {
	sim       *fakesource.Sim
	pool      *pgxpool.Pool
	serves    []*proctest.Process
	workers   []*proctest.Process
	customers []*portalUser
	// targets maps the synced Salesforce objects to their portal objects.
	targets map[string]string
	// synced is the source's record count per object when the first sync
	// ended, before any load.
	synced map[string]int
}

// procInterval is the fleet's fixed sync interval: one periodic
// incremental sync per object per interval, enqueued by River's leader.
const procInterval = time.Second

// startProcFleet starts serves serve and workers worker processes and
// waits for the first sync of every object.
func startProcFleet(t *testing.T, serves, workers int) *procFleet {
	t.Helper()
	ctx, began := context.Background(), time.Now()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 9, Records: 300})
	dbURL := dbtest.URL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cfg := *fleetConfig(workerSpec{DatabaseURL: dbURL, Creds: sim.Credentials(srv.URL).Salesforce})
	cfg.Log.Level = "error"
	cfg.Sync.Interval = procInterval
	cfg.River.FetchPollInterval, cfg.River.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
	cfg.River.SoftStopTimeout = 2 * time.Second
	cfg.River.SyncWorkers, cfg.River.WritebackWorkers, cfg.River.NotifyWorkers, cfg.River.DefaultWorkers = 4, 4, 1, 1
	cfg.DatabaseMaxConns = 12
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	// Breaker and retries as in production: the load is no fault.
	cfg.Connections[0].Breaker = config.DefaultConnection(config.ConnectionConfig{}).Breaker

	f := &procFleet{sim: sim, pool: pool, targets: map[string]string{}, synced: map[string]int{}}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	for _, obj := range set.Objects() {
		if obj.Connection() == fakesource.Salesforce {
			f.targets[obj.SourceObject()] = obj.Name()
		}
	}
	for i := range workers {
		f.workers = append(f.workers, proctest.Start(t, fmt.Sprintf("worker-%d", i+1), "worker", cfg))
	}
	for i := range serves {
		f.serves = append(f.serves, proctest.Start(t, fmt.Sprintf("serve-%c", 'a'+i), "serve", cfg))
	}
	require.Eventually(t, func() bool {
		return f.count(t, `SELECT count(DISTINCT object) FROM sync_run WHERE kind = 'full' AND state = 'succeeded'`) == len(f.targets)
	}, 60*time.Second, 50*time.Millisecond, "the first sync of every object")
	t.Logf("%d serve and %d worker processes started and the first sync done in %s", serves, workers, time.Since(began).Round(time.Millisecond))
	for obj := range f.targets {
		f.synced[obj] = sim.Stats().Records[fakesource.Salesforce][obj]
	}
	rows, err := pool.Query(ctx, `SELECT DISTINCT owner_account FROM record
		WHERE object = 'case' AND coalesce(owner_account, '') <> '' ORDER BY 1 LIMIT 4`)
	require.NoError(t, err)
	var accounts []string
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		accounts = append(accounts, a)
	}
	require.NoError(t, rows.Err())
	require.Len(t, accounts, 4)
	for i, account := range accounts {
		email := fmt.Sprintf("customer%d@fleet.test", i)
		var contact string
		require.NoError(t, pool.QueryRow(ctx, `SELECT source_id FROM record WHERE object = 'contact' AND owner_account = $1 ORDER BY 1 LIMIT 1`, account).Scan(&contact))
		_, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: email, Password: authtest.Password, AccountID: account, ContactID: contact,
			Roles: []string{"member"}, HashParams: authtest.FastHash})
		require.NoError(t, err)
		f.customers = append(f.customers, newCustomer(t, f.serves[i%len(f.serves)].URL(), email))
	}
	return f
}

func (f *procFleet) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// rows reads q's one text column.
func (f *procFleet) rows(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), q, args...)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// portalUser is a signed-in customer; its cookie jar serves every
// process (cookies are per host, not per port).
type portalUser struct {
	client *http.Client
	csrf   string
}

func newCustomer(t *testing.T, base, email string) *portalUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &portalUser{client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	resp, err := c.client.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"`+authtest.Password+`"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&login))
	c.csrf = login.CSRF
	return c
}

// call sends one request; key, if set, is its Idempotency-Key. It returns
// the status and body, or the transport's error.
func (c *portalUser) call(method, url, body, key string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// load is the portal traffic and staff edits the tests run under.
type load struct {
	// phase names the part of the test in keys and subjects.
	phase    string
	mu       sync.Mutex
	requests int
	failures []string
	cases    []string // subjects of the cases created (202)
	comments int      // comments accepted (202)
	edits    map[string]string
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf(format, args...))
}

// expect sends one request and records it, and a failure unless the
// status is want.
func (l *load) expect(c *portalUser, want int, method, url, body, key string) []byte {
	code, b, err := c.call(method, url, body, key)
	l.mu.Lock()
	l.requests++
	l.mu.Unlock()
	if err != nil || code != want {
		l.fail("%s %s: %d %v %.300s", method, url, code, err, b)
		return nil
	}
	return b
}

// customerRound is one customer's round through the portal on base(i):
// list their cases, read one, comment on it, open a new case.
func (l *load) customerRound(who, i int, c *portalUser, base string) {
	body := l.expect(c, http.StatusOK, http.MethodGet, base+"/api/v1/cases", "", "")
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if body == nil || json.Unmarshal(body, &list) != nil || len(list.Data) == 0 {
		l.fail("customer %d: no case listed: %.300s", who, body)
		return
	}
	var id string
	for _, r := range list.Data {
		if !strings.HasPrefix(r.ID, "pending:") {
			id = r.ID
			break
		}
	}
	l.expect(c, http.StatusOK, http.MethodGet, base+"/api/v1/cases/"+id, "", "")
	if l.expect(c, http.StatusAccepted, http.MethodPost, base+"/api/v1/cases/"+id+"/comments",
		fmt.Sprintf(`{"body":"%s comment %d-%d"}`, l.phase, who, i), fmt.Sprintf("%s-comment-%d-%d", l.phase, who, i)) != nil {
		l.mu.Lock()
		l.comments++
		l.mu.Unlock()
	}
	subject := fmt.Sprintf("%s case %d-%d", l.phase, who, i)
	if l.expect(c, http.StatusAccepted, http.MethodPost, base+"/api/v1/cases",
		`{"subject":"`+subject+`"}`, fmt.Sprintf("%s-case-%d-%d", l.phase, who, i)) != nil {
		l.mu.Lock()
		l.cases = append(l.cases, subject)
		l.mu.Unlock()
	}
}

// staffEdit changes the subject of seeded case i at the source.
func (l *load) staffEdit(sim *fakesource.Sim, i int) {
	id, err := sim.SeedID(fakesource.Salesforce, "Case", i%30)
	if err != nil {
		l.fail("seed id: %v", err)
		return
	}
	subject := fmt.Sprintf("staff edit %d", i)
	if err := sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Subject": subject}); err != nil {
		l.fail("staff edit: %v", err)
		return
	}
	l.mu.Lock()
	if l.edits == nil {
		l.edits = map[string]string{}
	}
	l.edits[id] = subject
	l.mu.Unlock()
}

// run drives rounds of every customer and staff edits until stop is
// closed (or, with stop nil, rounds rounds); base picks the URL of a
// customer's i-th round.
func (l *load) run(f *procFleet, rounds int, stop <-chan struct{}, base func(who, i int) string) {
	var wg sync.WaitGroup
	more := func(i int) bool {
		if stop == nil {
			return i < rounds
		}
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	for who, c := range f.customers {
		wg.Go(func() {
			for i := 0; more(i); i++ {
				l.customerRound(who, i, c, base(who, i))
			}
		})
	}
	wg.Go(func() {
		for i := 0; more(i); i++ {
			l.staffEdit(f.sim, i)
			time.Sleep(50 * time.Millisecond) // a steady trickle of staff edits, not a burst
		}
	})
	wg.Wait()
}

// requireActionsAppliedOnce waits until every accepted action is applied
// and checks it against the source: one Salesforce record per action, the
// case carrying its own action's key.
func (f *procFleet) requireActionsAppliedOnce(t *testing.T, l *load) {
	t.Helper()
	accepted := len(l.cases) + l.comments
	if !assert.Eventually(t, func() bool {
		return f.count(t, `SELECT count(*) FROM action WHERE state = 'applied'`) == accepted
	}, 60*time.Second, 50*time.Millisecond) {
		t.Fatalf("not every accepted action (%d) is applied: %v", accepted,
			f.rows(t, `SELECT state || ' ' || coalesce(message, '') || ': ' || count(*) FROM action GROUP BY state, message`))
	}
	require.Equal(t, accepted, f.count(t, `SELECT count(*) FROM action`), "no action besides the accepted ones")
	st := f.sim.Stats()
	createdCases := st.Records[fakesource.Salesforce]["Case"] - f.synced["Case"]
	createdComments := st.Records[fakesource.Salesforce]["CaseComment"] - f.synced["CaseComment"]
	require.Equal(t, len(l.cases), createdCases, "one source case per accepted case: none lost, none twice")
	require.Equal(t, l.comments, createdComments, "one source comment per accepted comment: none lost, none twice")
	rows, err := f.pool.Query(context.Background(), `SELECT id, result_id FROM action WHERE object = 'case'`)
	require.NoError(t, err)
	seen := map[string]bool{}
	for rows.Next() {
		var id int64
		var result string
		require.NoError(t, rows.Scan(&id, &result))
		require.False(t, seen[result], "two actions share source record %s", result)
		seen[result] = true
		src, err := f.sim.Record(fakesource.Salesforce, "Case", result)
		require.NoError(t, err)
		require.Equal(t, writeback.SourceKey(1, id), src["Portico_Action_Id__c"], "the case carries its own action's key")
	}
	require.NoError(t, rows.Err())
	require.Len(t, seen, len(l.cases))
	t.Logf("actions: %d cases and %d comments accepted, each applied once (the source answered %d key replays from memory)",
		len(l.cases), l.comments, st.Duplicates)
}

// requireSyncPagesOnce checks that the fleet stored each page once: the
// first, full sync of every object stored exactly the source's records,
// and no two sync runs of one object (by any processes) overlapped. At
// the end the cache holds every staff edit.
func (f *procFleet) requireSyncPagesOnce(t *testing.T, l *load) {
	t.Helper()
	for obj, portal := range f.targets {
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM sync_run WHERE object = $1 AND kind = 'full'`, obj), "one full sync of %s", obj)
		require.Equal(t, f.synced[obj], f.count(t, `SELECT records FROM sync_run WHERE object = $1 AND kind = 'full'`, obj),
			"the full sync of %s (%s) stored each source record once", obj, portal)
	}
	overlaps := f.count(t, `SELECT count(*) FROM sync_run a JOIN sync_run b
		ON a.connection = b.connection AND a.object = b.object AND a.id < b.id
		WHERE a.kind <> 'refresh' AND b.kind <> 'refresh' AND a.finished_at IS NOT NULL AND b.finished_at IS NOT NULL
		  AND b.started_at < a.finished_at AND a.started_at < b.finished_at`)
	require.Zero(t, overlaps, "two sync runs of one object overlapped")
	runs := f.count(t, `SELECT count(*) FROM sync_run WHERE kind <> 'refresh'`)
	require.Eventually(t, func() bool {
		for id, subject := range l.edits {
			var got string
			err := f.pool.QueryRow(context.Background(), `SELECT data->'fields'->>'subject' FROM record WHERE object = 'case' AND source_id = $1`, id).Scan(&got)
			if err != nil || got != subject {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the cache holds every staff edit")
	t.Logf("sync: %d runs by the fleet, none overlapping another of its object; %d staff edits cached", runs, len(l.edits))
}

// TestFleetOfServeAndWorkerProcesses: two `portico serve` and three
// `portico worker` processes on one database and one simulated
// Salesforce, under customers' reads and writes through both serve
// processes and staff edits at the source. Each sync page is stored once,
// each action applied once, the periodic syncs are enqueued by one leader
// (counted), and a write through one serve process is seen at once through
// the other, whose caches the database's notifications invalidate. Then
// every process is restarted, one at a time, under the same load through
// a load balancer (rollingRestart).
func TestFleetOfServeAndWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve and worker processes")
	}
	t.Parallel()
	f := startProcFleet(t, 2, 3)
	// One load across both parts: the checks count every action since
	// the start.
	l := &load{}
	t.Run("load", func(t *testing.T) { l.phase = "load"; fleetUnderLoad(t, f, l) })
	t.Run("rolling restart", func(t *testing.T) { l.phase = "restart"; rollingRestart(t, f, l) })
}

// fleetUnderLoad is the first part of TestFleetOfServeAndWorkerProcesses.
func fleetUnderLoad(t *testing.T, f *procFleet, l *load) {
	a, b := f.serves[0].URL(), f.serves[1].URL()

	// Periodic jobs: River's leader alone enqueues the per-object
	// incremental syncs, one per interval. Three leaders would enqueue
	// about three per interval (an idle sync ends within milliseconds, so
	// the uniqueness of a queued job would not fold them).
	require.Eventually(t, func() bool { return f.count(t, `SELECT count(*) FROM river_leader`) == 1 }, 30*time.Second, 50*time.Millisecond)
	from := time.Now()
	l.run(f, 6, nil, func(who, i int) string { return f.serves[(who+i)%2].URL() })
	// On a quiet machine the load can end within an interval: the window
	// lasts until two periodic syncs of Case are in.
	caseSyncs := func(to time.Time) int {
		return f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync' AND args->>'object' = 'Case'
			AND args->>'mode' = 'incremental' AND created_at BETWEEN $1 AND $2`, from, to)
	}
	require.Eventually(t, func() bool { return caseSyncs(time.Now()) >= 2 }, 30*time.Second, 50*time.Millisecond, "periodic syncs of Case")
	window := time.Since(from)
	to := time.Now()
	periodic := caseSyncs(to)
	leaders := f.count(t, `SELECT count(DISTINCT leader_id) FROM river_leader`)
	t.Logf("periodic: %d incremental syncs of Case enqueued in %s at one per %s; %d leader", periodic, window.Round(time.Millisecond), procInterval, leaders)
	require.Positive(t, periodic)
	require.LessOrEqual(t, periodic, int(window/procInterval)+2, "more periodic syncs than one leader enqueues")
	// One leader's schedule: the syncs of an object are enqueued an
	// interval apart, never closer, as a second leader's would be.
	close := f.count(t, `SELECT count(*) FROM (
		SELECT created_at - lag(created_at) OVER (PARTITION BY args->>'object' ORDER BY created_at) AS gap
		FROM river_job WHERE kind = 'sync' AND args->>'mode' = 'incremental' AND created_at BETWEEN $1 AND $2) g
		WHERE gap < $3::interval`, from, to, (procInterval - 100*time.Millisecond).String())
	require.Zero(t, close, "periodic syncs of one object enqueued less than an interval apart")
	require.Equal(t, 1, leaders)
	require.Empty(t, l.failures, "every request answered as expected")

	f.requireActionsAppliedOnce(t, l)
	f.requireSyncPagesOnce(t, l)

	// Caches: a customer's case list, rendered and cached by serve B, is
	// dropped there when serve A accepts a new case.
	c := f.customers[0]
	listB := func() string {
		code, body, err := c.call(http.MethodGet, b+"/api/v1/cases?limit=200", "", "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		return string(body)
	}
	hits := func() float64 { return metric(t, b, `portico_cache_hits_total{cache="pages"}`) }
	// (A sync's change may drop the page between two reads: read until
	// one is answered from the cache.)
	require.Eventually(t, func() bool {
		listB()
		before := hits()
		listB()
		return hits() > before
	}, 10*time.Second, 20*time.Millisecond, "serve B answers the list from its page cache (the control)")
	code, body, err := c.call(http.MethodPost, a+"/api/v1/cases", `{"subject":"written through serve A"}`, "cache-check")
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code, string(body))
	l.cases = append(l.cases, "written through serve A")
	require.Eventually(t, func() bool { return strings.Contains(listB(), "written through serve A") },
		2*time.Second, 10*time.Millisecond, "serve B still lists its cached page")

	// Sessions: signing out through serve A ends the session at serve B.
	code, _, err = c.call(http.MethodGet, b+"/api/v1/me", "", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	code, _, err = c.call(http.MethodPost, a+"/auth/logout", "", "")
	require.NoError(t, err)
	require.Less(t, code, 300)
	require.Eventually(t, func() bool {
		code, _, err := c.call(http.MethodGet, b+"/api/v1/me", "", "")
		return err == nil && code == http.StatusUnauthorized
	}, 2*time.Second, 10*time.Millisecond, "serve B still holds the session signed out through serve A")
	f.customers[0] = newCustomer(t, a, "customer0@fleet.test")
}

// rollingRestart is the second part of TestFleetOfServeAndWorkerProcesses:
// behind a load balancer (a reverse proxy in
// the test), every process of a fleet of two serve and three worker
// processes is restarted one at a time (SIGTERM, wait for the exit, start
// anew) while customers read and write and staff edit at the source. The
// balancer takes a serve process out of its rotation before stopping it
// and back once it is ready again, and sends a request refused at connect
// to the other backend (counted, and logged). Every request through it
// succeeds, every process exits 0, every accepted action is applied once
// and none is lost, and each sync page is stored once.
func rollingRestart(t *testing.T, f *procFleet, l *load) {
	lb, err := proctest.NewBalancer(f.serves[0].URL(), f.serves[1].URL())
	require.NoError(t, err)
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(f, 0, stop, func(int, int) string { return front.URL })
	}()
	requests := func() int { l.mu.Lock(); defer l.mu.Unlock(); return l.requests }
	// Each restart happens under traffic: some requests between each.
	underLoad := func() {
		n := requests()
		require.Eventually(t, func() bool { return requests() >= n+20 }, 30*time.Second, 10*time.Millisecond, "the load goes on")
	}
	underLoad()
	for _, w := range f.workers {
		w.Restart(t)
		underLoad()
	}
	for _, s := range f.serves {
		lb.Drain(s.URL())
		s.Restart(t)
		lb.Restore(s.URL())
		underLoad()
	}
	close(stop)
	<-done
	t.Logf("rolling restart: %d requests through the balancer, %d sent to the other backend after a refused connection, %d failed",
		l.requests, lb.Retried(), len(l.failures))
	require.Empty(t, l.failures, "every request through the balancer succeeds")
	f.requireActionsAppliedOnce(t, l)
	f.requireSyncPagesOnce(t, l)
}
