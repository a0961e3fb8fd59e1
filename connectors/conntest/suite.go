package conntest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// Cases names every conformance case, in the order Run runs them.
var Cases = []string{
	"full_pull", "incremental_equal_stamps", "incremental_late_visible", "incremental_edits_during_paging",
	"deletions", "get", "create_retried_after_lost_response", "stale_update_conflict", "rate_limited_retry_after",
	"outage_opens_breaker", "expired_token_reauth", "quota_reserves_writes", "webhook_verified",
}

// Run runs the conformance suite for one connector.
func Run(t *testing.T, h Harness) {
	cases := map[string]func(*testing.T, Harness){
		"full_pull":                          fullPull,
		"incremental_equal_stamps":           equalStamps,
		"incremental_late_visible":           lateVisible,
		"incremental_edits_during_paging":    editsDuringPaging,
		"deletions":                          deletions,
		"get":                                get,
		"create_retried_after_lost_response": createOnce,
		"stale_update_conflict":              staleUpdate,
		"rate_limited_retry_after":           retryAfter,
		"outage_opens_breaker":               breaker,
		"expired_token_reauth":               reauth,
		"quota_reserves_writes":              quota,
		"webhook_verified":                   webhook,
	}
	for _, name := range Cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cases[name](t, h)
		})
	}
}

func fullPull(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	live := e.src.Live(h.Pull.Sim)
	require.Greater(t, live, 20, "the simulator has enough %s records to page", h.Pull.Sim)
	p := e.pull(h.Pull.Name, "", 20, nil)
	require.Greater(t, p.pages, 1, "the pull pages (each harness makes pages smaller than the object)")
	require.Len(t, p.records, live)
	// Repeats are allowed (callers dedupe by id and version), but with
	// nothing changing they must be the same version.
	for _, r := range p.seen {
		require.Equal(t, p.records[r.ID].Version, r.Version, "record %s repeated with another version", r.ID)
	}
	require.Less(t, len(p.seen), 2*live, "repeats stay at query boundaries")
	for _, id := range e.src.SeedIDs(h.Pull.Sim) {
		requireHas(t, p.records, id)
	}
	require.NotEmpty(t, p.cursor)
}

func equalStamps(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	full := e.pull(h.Pull.Name, "", 0, nil)
	e.clock.Advance(10 * time.Second)
	stamp := e.clock.Now().Truncate(time.Second)
	var ids []string
	for i := range 7 {
		ids = append(ids, e.create(i, stamp))
	}
	e.clock.Advance(time.Second)
	inc := e.pull(h.Pull.Name, full.cursor, 3, nil)
	for _, id := range ids {
		requireHas(t, inc.records, id, "a record sharing its stamp with others, across pages")
		require.True(t, inc.records[id].Modified.Equal(stamp))
	}
}

func lateVisible(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{src: func(o *SourceOptions) { o.VisibilityLag = 30 * time.Second }})
	full := e.pull(h.Pull.Name, "", 0, nil)
	cur, err := time.Parse(time.RFC3339Nano, full.cursor)
	require.NoError(t, err)

	// Committed late: stamped a minute before the cursor, visible only now.
	late := e.create(1, cur.Add(-time.Minute))
	// Modified now but not visible to queries for another 30 seconds.
	e.clock.Advance(40 * time.Second)
	lagging := e.create(2, time.Time{})
	e.clock.Advance(5 * time.Second)
	inc := e.pull(h.Pull.Name, full.cursor, 0, nil)
	requireHas(t, inc.records, late, "the overlap window catches a late-visible record")
	requireHasNot(t, inc.records, lagging, "not visible yet")

	e.clock.Advance(40 * time.Second)
	inc2 := e.pull(h.Pull.Name, inc.cursor, 0, nil)
	requireHas(t, inc2.records, lagging, "visible now, and the cursor did not pass it")
}

func editsDuringPaging(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	ids := e.src.SeedIDs(h.Pull.Sim)
	seen := map[string]connectors.Record{}
	var edited []string
	page, cursor := "", ""
	for n := 0; ; n++ {
		p, err := e.c.Pull(context.Background(), connectors.PullRequest{Object: h.Pull.Name, Page: page, Limit: 20})
		require.NoError(t, err)
		for _, r := range p.Records {
			seen[r.ID] = r
		}
		cursor = p.Cursor
		if p.Next == "" {
			break
		}
		if n == 0 {
			// One record already pulled and one not yet pulled change while
			// the pull pages on.
			e.clock.Advance(2 * time.Second)
			e.edit(p.Records[0].ID, 1)
			for _, id := range ids {
				if _, ok := seen[id]; !ok {
					e.edit(id, 2)
					edited = append(edited, p.Records[0].ID, id)
					break
				}
			}
		}
		page = p.Next
	}
	require.Len(t, edited, 2)
	e.clock.Advance(2 * time.Second)
	inc := e.pull(h.Pull.Name, cursor, 20, nil)
	for id, r := range inc.records {
		seen[id] = r
	}
	for _, id := range ids {
		requireHas(t, seen, id, "no record is missed by a pull with edits while paging")
	}
	for _, id := range edited {
		cur, err := e.c.Get(context.Background(), h.Pull.Name, id)
		require.NoError(t, err)
		require.Equal(t, cur.Version, seen[id].Version, "the edit of %s reached the puller", id)
	}
}

func deletions(t *testing.T, h Harness) {
	if h.Delete.Name == "" {
		t.Skip("the source reports no deletions for its objects")
	}
	e := setup(t, h, setupOpts{})
	full := e.pull(h.Delete.Name, "", 0, nil)
	ids := e.src.SeedIDs(h.Delete.Sim)
	require.GreaterOrEqual(t, len(ids), 2)
	gone, kept := ids[len(ids)-1], ids[0]
	e.clock.Advance(5 * time.Second)
	require.NoError(t, e.src.Delete(h.Delete.Sim, gone))
	e.clock.Advance(5 * time.Second)
	inc := e.pull(h.Delete.Name, full.cursor, 0, nil)
	require.True(t, inc.deleted[gone], "the deletion is reported")
	requireHasNot(t, inc.records, gone)
	require.False(t, inc.deleted[kept])
}

func get(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	ids := e.src.SeedIDs(h.Pull.Sim)
	full := e.pull(h.Pull.Name, "", 0, nil)
	rec, err := e.c.Get(context.Background(), h.Pull.Name, ids[3])
	require.NoError(t, err)
	require.Equal(t, ids[3], rec.ID)
	require.Equal(t, full.records[ids[3]].Version, rec.Version, "Get and Pull agree on the version")
	require.NotEmpty(t, rec.Raw)

	require.NoError(t, e.src.Delete(h.Pull.Sim, ids[4]))
	_, err = e.c.Get(context.Background(), h.Pull.Name, ids[4])
	require.ErrorIs(t, err, connectors.ErrNotFound)
}

func createOnce(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	id := e.src.SeedIDs(h.Write.Sim)[0]
	_, err := e.c.Get(context.Background(), h.Write.Name, id) // authenticate first
	require.NoError(t, err)
	before := e.src.Live(h.Write.Sim)
	k := key("conformance-create")
	e.lossy.armed.Store(true)
	res, err := e.c.Write(context.Background(), connectors.Write{Op: connectors.OpCreate, Object: h.Write.Name,
		Fields: h.WriteCreate(e.src), IdempotencyKey: k})
	e.lossy.armed.Store(false)
	require.NoError(t, err)
	require.EqualValues(t, 1, e.lossy.lost.Load(), "the first answer was lost")
	require.NotEmpty(t, res.ID)
	require.Equal(t, before+1, e.src.Live(h.Write.Sim), "exactly one record was created")
	require.Equal(t, 2, e.src.KeyUses(k), "the key was presented twice and applied once")
	rec, err := e.c.Get(context.Background(), h.Write.Name, res.ID)
	require.NoError(t, err)
	require.Equal(t, res.ID, rec.ID)
}

func staleUpdate(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	id := e.src.SeedIDs(h.Write.Sim)[1]
	ctx := context.Background()
	rec, err := e.c.Get(ctx, h.Write.Name, id)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Second)
	require.NoError(t, e.src.Edit(h.Write.Sim, id, h.WriteUpdate))
	cur, err := e.c.Get(ctx, h.Write.Name, id)
	require.NoError(t, err)
	require.NotEqual(t, rec.Version, cur.Version)

	e.clock.Advance(2 * time.Second)
	_, err = e.c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: h.Write.Name, ID: id,
		Fields: h.WriteUpdate, ExpectedVersion: rec.Version, IdempotencyKey: key("conformance-stale")})
	require.ErrorIs(t, err, connectors.ErrConflict)
	var ce *connectors.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, cur.Version, ce.CurrentVersion, "the conflict carries the source's current version")

	res, err := e.c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: h.Write.Name, ID: id,
		Fields: h.WriteUpdate, ExpectedVersion: cur.Version, IdempotencyKey: key("conformance-fresh")})
	require.NoError(t, err, "the current version applies")
	require.Equal(t, id, res.ID)
}

func retryAfter(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	ids := e.src.SeedIDs(h.Pull.Sim)
	ctx := context.Background()
	_, err := e.c.Get(ctx, h.Pull.Name, ids[0]) // authenticate first
	require.NoError(t, err)
	require.NoError(t, e.src.Throttle(time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && e.src.Throttled() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		_ = e.src.Throttle(0)
	}()
	start := time.Now()
	rec, err := e.c.Get(ctx, h.Pull.Name, ids[1])
	<-done
	require.NoError(t, err)
	require.Equal(t, ids[1], rec.ID)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "waited for Retry-After")
	require.GreaterOrEqual(t, e.src.Throttled(), 1)
}

func breaker(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{})
	ids := e.src.SeedIDs(h.Pull.Sim)
	ctx := context.Background()
	_, err := e.c.Get(ctx, h.Pull.Name, ids[0])
	require.NoError(t, err)
	require.NoError(t, e.src.Outage(true))
	for i := 0; i < e.cfg.Breaker.Failures+2; i++ {
		_, err := e.c.Get(ctx, h.Pull.Name, ids[1])
		require.ErrorIs(t, err, connectors.ErrUnavailable)
	}
	require.Equal(t, httpclient.BreakerOpen, e.client.Breaker())
	require.LessOrEqual(t, e.src.Calls("", 503), e.cfg.Breaker.Failures, "the breaker opened within the configured failures")
	require.Eventually(t, func() bool { return e.client.Breaker() == httpclient.BreakerHalfOpen },
		10*e.cfg.Breaker.OpenTimeout, 10*time.Millisecond, "half-open after the open timeout")
	require.NoError(t, e.src.Outage(false))
	rec, err := e.c.Get(ctx, h.Pull.Name, ids[1])
	require.NoError(t, err)
	require.Equal(t, ids[1], rec.ID)
	require.Equal(t, httpclient.BreakerClosed, e.client.Breaker())
}

func reauth(t *testing.T, h Harness) {
	if !h.Renews {
		t.Skip("static bearer token")
	}
	e := setup(t, h, setupOpts{src: func(o *SourceOptions) { o.TokenTTL = 10 * time.Minute }})
	ids := e.src.SeedIDs(h.Pull.Sim)
	ctx := context.Background()
	_, err := e.c.Get(ctx, h.Pull.Name, ids[0])
	require.NoError(t, err)
	tokens := e.src.Calls("token", 0)
	require.GreaterOrEqual(t, tokens, 1)
	e.clock.Advance(11 * time.Minute)
	rec, err := e.c.Get(ctx, h.Pull.Name, ids[1])
	require.NoError(t, err)
	require.Equal(t, ids[1], rec.ID)
	require.Equal(t, tokens+1, e.src.Calls("token", 0), "authenticated again exactly once")
	require.LessOrEqual(t, e.src.Calls("", 401), 1)
	_, err = e.c.Get(ctx, h.Pull.Name, ids[2])
	require.NoError(t, err)
	require.Equal(t, tokens+1, e.src.Calls("token", 0), "the new token is reused")
}

func quota(t *testing.T, h Harness) {
	e := setup(t, h, setupOpts{conn: func(c *httpclient.Settings) {
		c.Quota = httpclient.Quota{PerDay: 40, WriteShare: 0.25}
	}})
	ids := e.src.SeedIDs(h.Pull.Sim)
	ctx := context.Background()
	var err error
	reads := 0
	for ; reads < 40; reads++ {
		if _, err = e.c.Get(ctx, h.Pull.Name, ids[reads%len(ids)]); err != nil {
			break
		}
	}
	var rl *connectors.RateLimitedError
	require.ErrorAs(t, err, &rl, "background reads stop")
	require.Greater(t, rl.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, reads, 30, "reads stop at (1 - write_share) of the budget")
	served := e.src.Calls("", 0)

	res, err := e.c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: h.Write.Name,
		Fields: h.WriteCreate(e.src), IdempotencyKey: key("conformance-quota")})
	require.NoError(t, err, "a customer write still goes through")
	require.NotEmpty(t, res.ID)
	require.Greater(t, e.src.Calls("", 0), served)
	require.False(t, errors.Is(err, connectors.ErrRateLimited))
}

// requireHas checks membership without printing the whole map on failure.
func requireHas(t *testing.T, m map[string]connectors.Record, id string, msg ...any) {
	t.Helper()
	if _, ok := m[id]; !ok {
		require.Fail(t, "record "+id+" is missing", msg...)
	}
}

func requireHasNot(t *testing.T, m map[string]connectors.Record, id string, msg ...any) {
	t.Helper()
	if _, ok := m[id]; ok {
		require.Fail(t, "record "+id+" is present", msg...)
	}
}

func webhook(t *testing.T, h Harness) {
	type delivery struct {
		url    string
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{header: r.Header.Clone(), body: body, url: "http://" + r.Host + r.URL.Path}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(recv.Close)
	e := setup(t, h, setupOpts{src: func(o *SourceOptions) { o.WebhookURL = recv.URL + "/hooks/conformance" }})
	verifier, ok := e.c.(connectors.WebhookVerifier)
	if !ok {
		t.Skip("the connector does not verify webhooks")
	}
	id := e.src.SeedIDs(h.Pull.Sim)[2]
	e.edit(id, 5)
	var d delivery
	select {
	case d = <-got:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the simulator delivered no webhook")
	}
	// Sources that cannot sign post to /hooks/{system}/{secret}.
	secret := strings.TrimPrefix(strings.TrimPrefix(d.url, recv.URL+"/hooks/conformance"), "/")
	req := connectors.WebhookRequest{URL: d.url, Header: d.header, Body: d.body, Secret: secret}
	changes, err := verifier.VerifyWebhook(context.Background(), req)
	require.NoError(t, err)
	named := make([]connectors.Change, len(changes))
	for i, c := range changes {
		named[i] = connectors.Change{Object: c.Object, ID: c.ID}
	}
	require.Contains(t, named, connectors.Change{Object: h.Pull.Name, ID: id}, "the notice names the edited record")

	conn := e.conn
	conn.WebhookSecret, conn.Realm = "not-the-secret", "00D000000000000"
	other, err := h.New(connectors.Deps{Connection: conn, HTTP: e.client, Credentials: &MemoryCredentials{}}, e.clock.Now)
	require.NoError(t, err)
	_, err = other.(connectors.WebhookVerifier).VerifyWebhook(context.Background(), req)
	require.ErrorIs(t, err, connectors.ErrInvalidSignature, "a notice for another secret or org is refused")
}
