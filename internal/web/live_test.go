package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/store"
)

// sse is one open event stream as a browser's EventSource reads it.
type sse struct {
	t      *testing.T
	header http.Header
	body   io.ReadCloser
	cancel context.CancelFunc
	events chan sseEvent
	// ended is closed when the server ends the stream.
	ended chan struct{}
}

// sseEvent is one event, or a comment line (name "comment").
type sseEvent struct{ name, data string }

// stream opens path (e.g. /events?case=X) with b's session; the stream
// must answer 200.
func (b *browser) stream(path string) *sse {
	b.e.t.Helper()
	s, code := b.openStream(path)
	require.NotNil(b.e.t, s, "status %d", code)
	return s
}

// openStream opens path and returns the stream, or nil and the status
// of an answer that is not one.
func (b *browser) openStream(path string) (*sse, int) {
	t := b.e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	res, err := b.c.Do(req)
	require.NoError(t, err)
	if res.StatusCode != http.StatusOK {
		// Drained, so that the connection is reused.
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		cancel()
		return nil, res.StatusCode
	}
	s := &sse{t: t, header: res.Header, body: res.Body, cancel: cancel, events: make(chan sseEvent, 64), ended: make(chan struct{})}
	t.Cleanup(s.close)
	go s.read()
	return s, res.StatusCode
}

func (s *sse) read() {
	defer close(s.ended)
	sc := bufio.NewScanner(s.body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			s.events <- sseEvent{name: "comment", data: strings.TrimSpace(line[1:])}
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[len("data: "):]
		}
	}
}

// close is the browser going away.
func (s *sse) close() {
	s.cancel()
	s.body.Close()
}

// next is the next event other than comments and resyncs.
func (s *sse) next() sseEvent {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.name != "comment" && ev.name != "resync" {
				return ev
			}
		case <-s.ended:
			s.t.Fatal("the stream ended")
		case <-deadline:
			s.t.Fatal("no event within 10s")
		}
	}
}

// waitStreams waits until the listener is live with n streams open.
func (e *env) waitStreams(n int) {
	e.t.Helper()
	waitFor(e.t, func() bool {
		live, open := e.web.LiveStreams()
		return live && open == n
	})
}

// lastAction is the newest action's id.
func (e *env) lastAction() int64 {
	e.t.Helper()
	var id int64
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT max(id) FROM action`).Scan(&id))
	return id
}

// apply marks an update action applied as the write-back worker does:
// the record's pending mark cleared and the action applied, in one
// transaction.
func (e *env) apply(id int64, resultID string) {
	e.t.Helper()
	ctx := context.Background()
	require.NoError(e.t, pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if err := store.RecordClearPending(ctx, tx, store.RecordClearPendingParams{
			TenantID: 1, PendingActionID: pgtype.Int8{Int64: id, Valid: true}}); err != nil {
			return err
		}
		return store.ActionApplied(ctx, tx, store.ActionAppliedParams{
			ResultID: pgtype.Text{String: resultID, Valid: true}, ResultVersion: pgtype.Text{String: "v9", Valid: true}, ID: id})
	}))
}

func TestLiveCaseTurnsReceivedWhenApplied(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	bea := e.signedIn("bea@beta.test", apitest.Beta, auth.RoleMember)
	alphaCase, betaCase := e.fx.IDs[apitest.Alpha]["case"][0], e.fx.IDs[apitest.Beta]["case"][0]

	page := mark.get("/cases/" + alphaCase)
	require.Contains(t, page.body, `data-live="/events?case=`+alphaCase+`"`)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/close", url.Values{"idempotency_key": {"close-1"}}).code)
	markAction := e.lastAction()
	require.Contains(t, mark.get("/cases/"+alphaCase).body, "Your change is being sent.")

	bea.get("/cases/" + betaCase)
	require.Equal(t, http.StatusSeeOther, bea.post("/cases/"+betaCase+"/close", url.Values{"idempotency_key": {"close-2"}}).code)
	beaAction := e.lastAction()

	ms := mark.stream("/events?case=" + alphaCase)
	require.Equal(t, "text/event-stream", ms.header.Get("Content-Type"))
	require.Contains(t, ms.header.Get("Content-Security-Policy"), "default-src 'none'", "served through the production router")
	bs := bea.stream("/events?case=" + betaCase)
	e.waitStreams(2)

	e.apply(markAction, alphaCase)
	got := []sseEvent{ms.next(), ms.next()}
	require.ElementsMatch(t, []sseEvent{{"action", fmt.Sprint(markAction)}, {"record", alphaCase}}, got)
	// What the page reads again now says the source has it.
	status := mark.get("/cases/" + alphaCase).body
	require.Contains(t, status, "Received by Salesforce.")
	require.NotContains(t, status, "Your change is being sent.")

	// Bea heard nothing of Mark's: her first events are her own, which
	// came after his through the same listener.
	e.apply(beaAction, betaCase)
	got = []sseEvent{bs.next(), bs.next()}
	require.ElementsMatch(t, []sseEvent{{"action", fmt.Sprint(beaAction)}, {"record", betaCase}}, got)
	// Nor Mark of hers: a change at the source to his case comes next.
	_, err := e.pool.Exec(context.Background(), `UPDATE record SET status = 'in_progress' WHERE object = 'case' AND source_id = $1`, alphaCase)
	require.NoError(t, err)
	require.Equal(t, sseEvent{"record", alphaCase}, ms.next())
}

func TestLiveNewCaseShowsSentThenReceived(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	mark.get("/cases/new")
	res := mark.post("/cases", url.Values{"subject": {"Toner smudges"}, "description": {"Every page."}, "idempotency_key": {"new-1"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	list := mark.get(res.location())
	require.Contains(t, list.body, `data-live="/events"`)
	require.Regexp(t, `Toner smudges[\s\S]*Your change is being sent\.`, list.body)
	id := e.lastAction()

	s := mark.stream("/events")
	e.waitStreams(1)
	// The source takes the case under its own id, as the worker stores it.
	_, err := e.pool.Exec(context.Background(), `UPDATE record SET source_id = '500A0000000NEW1', pending_action_id = NULL
		WHERE pending_action_id = $1`, id)
	require.NoError(t, err)
	e.apply(id, "500A0000000NEW1")
	require.Equal(t, sseEvent{"action", fmt.Sprint(id)}, s.next())
	require.Regexp(t, `Toner smudges[\s\S]*Received by Salesforce\.`, mark.get("/cases").body)
}

func TestLiveRefusesWhatTheUserCannotSee(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	betaCase := e.fx.IDs[apitest.Beta]["case"][0]
	_, code := mark.openStream("/events?case=" + betaCase)
	require.Equal(t, http.StatusNotFound, code, "a foreign case is a missing one")
	_, code = mark.openStream("/events?case=500A0000000NONE")
	require.Equal(t, http.StatusNotFound, code)
	_, code = e.browser().openStream("/events")
	require.Equal(t, http.StatusUnauthorized, code)
}

func TestLiveHeartbeatsDisconnectCapAndShutdown(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.heartbeat = 20 * time.Millisecond; o.maxStreams = 2 })
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	a := mark.stream("/events")
	b := mark.stream("/events")
	e.waitStreams(2)
	_, code := mark.openStream("/events")
	require.Equal(t, http.StatusTooManyRequests, code, "a third stream of one user")
	// Another user is not counted against Mark.
	bea := e.signedIn("bea@beta.test", apitest.Beta, auth.RoleMember)
	c := bea.stream("/events")
	e.waitStreams(3)

	// Heartbeats are comment lines.
	require.Eventually(t, func() bool {
		select {
		case ev := <-a.events:
			return ev == sseEvent{"comment", "heartbeat"}
		default:
			return false
		}
	}, 10*time.Second, 5*time.Millisecond)

	// A browser that goes away frees its place.
	a.close()
	e.waitStreams(2)
	mark.stream("/events")
	e.waitStreams(3)

	// A stopping server ends every stream, and opens no new one.
	e.web.CloseLive()
	for _, s := range []*sse{b, c} {
		select {
		case <-s.ended:
		case <-time.After(10 * time.Second):
			t.Fatal("a stream outlived the server")
		}
	}
	e.waitStreams(0)
	_, code = bea.openStream("/events")
	require.Equal(t, http.StatusServiceUnavailable, code)
}

func TestLiveEndsWhenSignedOut(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.heartbeat = 20 * time.Millisecond })
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	other := e.browser()
	other.signIn("mark@alpha.test")
	s := mark.stream("/events")
	e.waitStreams(1)
	// Signing out everywhere from another browser ends this one's stream.
	other.get("/")
	require.Equal(t, http.StatusSeeOther, other.post("/sign-out-everywhere", nil).code)
	select {
	case <-s.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived its session")
	}
	e.waitStreams(0)
	_, code := mark.openStream("/events")
	require.Equal(t, http.StatusUnauthorized, code)
}
