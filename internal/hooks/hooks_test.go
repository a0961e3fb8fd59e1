package hooks_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/hooks"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	orgID       = "00D7F00000107XsUAI"
	sfSecret    = "sf-endpoint-secret-0123456789"
	qbVerifier  = "qb-verifier-token"
	sqSignature = "sq-signature-key"
	qbRealm     = "9130357766902476"
)

type bundle struct {
	pool    *pgxpool.Pool
	handler *hooks.Handler
	river   *river.Client[pgx.Tx]
	srv     *httptest.Server
	// logged is the path a request logger outside the router saw last.
	logged atomic.Value
}

// setup serves /hooks for the three connectors over a real database and
// an insert-only River client.
func setup(t *testing.T, tweak ...func(*hooks.Handler)) *bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	tenant, err := store.TenantBySlug(context.Background(), pool, "default")
	require.NoError(t, err)
	conns := map[string]connectors.Connector{}
	deps := func(c config.ConnectionConfig) connectors.Deps {
		c.BaseURL = "http://127.0.0.1:1"
		return connectors.Deps{Connection: c.Connector(), HTTP: http.DefaultClient}
	}
	conns["salesforce"], err = salesforce.New(deps(config.ConnectionConfig{Realm: orgID[:15], WebhookSecret: sfSecret}))
	require.NoError(t, err)
	conns["accounting"], err = accounting.New(deps(config.ConnectionConfig{Realm: qbRealm, WebhookSecret: qbVerifier}))
	require.NoError(t, err)
	conns["inventory"], err = inventory.New(deps(config.ConnectionConfig{WebhookSecret: sqSignature}))
	require.NoError(t, err)
	b := &bundle{pool: pool, river: client}
	b.handler = &hooks.Handler{
		Lookup: func(name string) (connectors.Connector, bool) {
			c, ok := conns[name]
			return c, ok
		},
		Pool: pool, TenantID: tenant.ID, River: client, Logger: slog.New(slog.DiscardHandler),
	}
	for _, f := range tweak {
		f(b.handler)
	}
	r := chi.NewRouter()
	// Like the server's request log: it reads the path after the handler.
	r.Use(middleware.RequestID, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			next.ServeHTTP(w, req.WithContext(req.Context()))
			b.logged.Store(req.URL.Path)
		})
	})
	r.Mount("/hooks", b.handler.Routes())
	b.srv = httptest.NewServer(r)
	t.Cleanup(b.srv.Close)
	b.handler.PublicURL = b.srv.URL
	return b
}

type answer struct {
	status int
	ctype  string
	body   string
}

func (b *bundle) post(t *testing.T, path string, header http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: string(got)}
}

func (b *bundle) refreshJobs(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'sync_refresh'`).Scan(&n))
	return n
}

func outbound(org string, ids ...string) []byte {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">`)
	fmt.Fprintf(&s, `<OrganizationId>%s</OrganizationId><ActionId>04k7F0000008V3hQAE</ActionId>`, org)
	for i, id := range ids {
		fmt.Fprintf(&s, `<Notification><Id>04l7F000008ae%05d</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>%s</sf:Id></sObject></Notification>`, i, id)
	}
	s.WriteString(`</notifications></soapenv:Body></soapenv:Envelope>`)
	return []byte(s.String())
}

func caseIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("5007F00000A%07d", i)
	}
	return ids
}

var soapHeader = http.Header{"Content-Type": {"text/xml; charset=utf-8"}, "Soapaction": {`""`}}

const soapAck = `<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>`

func TestSalesforceNoticeNeedsTheSecretAndTheExactOrg(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := caseIDs(50)
	refused := []struct {
		path string
		body []byte
	}{
		{"/hooks/salesforce", outbound(orgID, ids...)},                            // no secret
		{"/hooks/salesforce/wrong-secret", outbound(orgID, ids...)},               // wrong secret
		{"/hooks/salesforce/" + sfSecret + "x", outbound(orgID, ids...)},          // near miss
		{"/hooks/salesforce/" + sfSecret, outbound(orgID+"0", ids...)},            // org prefix
		{"/hooks/salesforce/" + sfSecret, outbound("00D", ids...)},                // every org starts so
		{"/hooks/salesforce/" + sfSecret, outbound("00D7F00000107XtUAI", ids...)}, // another org
	}
	for _, tc := range refused {
		got := b.post(t, tc.path, soapHeader, tc.body)
		require.Equal(t, http.StatusUnauthorized, got.status, "%s: %s", tc.path, got.body)
	}
	require.Zero(t, b.refreshJobs(t), "a refused notice makes no source call")

	got := b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, outbound(orgID, ids[0]))
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Contains(t, got.ctype, "text/xml")
	require.Contains(t, got.body, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`+soapAck)
	rivertest.RequireInserted(context.Background(), t, riverpgxv5.New(b.pool),
		syncer.RefreshArgs{Connection: "salesforce", Object: "Case", ID: ids[0]}, nil)
	require.Equal(t, "/hooks/salesforce/[secret]", b.logged.Load(), "the request log never sees the secret")

	// The same secret with a character percent-encoded: chi reads it from
	// the raw path (so it does not match and is refused), and the log
	// must not show the decoded one either.
	encoded := "%" + strings.ToUpper(hex.EncodeToString([]byte(sfSecret[:1]))) + sfSecret[1:]
	got = b.post(t, "/hooks/salesforce/"+encoded, soapHeader, outbound(orgID, ids[1]))
	require.Equal(t, http.StatusUnauthorized, got.status, got.body)
	require.Equal(t, "/hooks/salesforce/[secret]", b.logged.Load(), "an encoded secret stays out of the log too")
}

func TestSalesforceNoticeIsCapped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, outbound(orgID, caseIDs(101)...))
	require.Equal(t, http.StatusBadRequest, got.status, got.body)
	require.Contains(t, got.body, "more than 100 notifications")
	require.Zero(t, b.refreshJobs(t))

	big := append(outbound(orgID, "5007F00000A0000001"), bytes.Repeat([]byte(" "), 1<<20)...)
	got = b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, got.status, got.body)
	require.Zero(t, b.refreshJobs(t))
}

// TestFloodIsCoalesced: the same records named again within the window
// are refreshed once.
func TestFloodIsCoalesced(t *testing.T) {
	t.Parallel()
	b := setup(t, func(h *hooks.Handler) { h.Coalesce = 24 * time.Hour })
	ids := caseIDs(50)
	notice := outbound(orgID, append(ids, ids...)...)
	got := b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, notice)
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, 50, b.refreshJobs(t), "a notice naming 50 records twice: 50 refreshes")
	got = b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, notice)
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, 50, b.refreshJobs(t), "their refreshes have yet to read the source: nothing more")

	// The refreshes ran: a finished refresh still holds its record back
	// until the window ends, and the changes announced since are read
	// once, when it ends.
	_, err := b.pool.Exec(context.Background(), `UPDATE river_job SET state = 'completed', finalized_at = now()`)
	require.NoError(t, err)
	for range 3 {
		got = b.post(t, "/hooks/salesforce/"+sfSecret, soapHeader, notice)
		require.Equal(t, http.StatusOK, got.status, got.body)
	}
	require.Equal(t, 100, b.refreshJobs(t))
	var scheduled int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
		WHERE kind = 'sync_refresh' AND state = 'scheduled' AND scheduled_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day'`).Scan(&scheduled))
	require.Equal(t, 50, scheduled, "one more refresh per record, at the end of the window")
}

func qbNotice(lastUpdated string) (http.Header, []byte) {
	body := []byte(fmt.Sprintf(`{"eventNotifications":[{"realmId":%q,"dataChangeEvent":{"entities":[{"name":"Invoice","id":"130","operation":"Update","lastUpdated":%q},{"name":"Customer","id":"58","operation":"Update","lastUpdated":%q}]}}]}`,
		qbRealm, lastUpdated, lastUpdated))
	return http.Header{"Content-Type": {"application/json"}, "Intuit-Signature": {fakesource.WebhookSignature(qbVerifier, "", body)}}, body
}

func (b *bundle) sqNotice(eventID, orderID string) (http.Header, []byte) {
	body := []byte(fmt.Sprintf(`{"merchant_id":"ML7Z3B1ZHAYPS","type":"order.updated","event_id":%q,"created_at":"2024-03-05T18:11:12Z","data":{"type":"order","id":%q,"object":{"order_updated":{"order_id":%q,"version":2,"state":"OPEN"}}}}`,
		eventID, orderID, orderID))
	sig := fakesource.WebhookSignature(sqSignature, b.srv.URL+"/hooks/inventory", body)
	return http.Header{"Content-Type": {"application/json"}, "X-Square-Hmacsha256-Signature": {sig}}, body
}

func decode(t *testing.T, a answer) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &m), a.body)
	return m
}

// TestReplayIsAnsweredButEnqueuesNothing: a notice whose events were seen
// is answered 200 (the source stops) and enqueues nothing, whichever
// process saw it first; a new event for the same records is not a replay.
func TestReplayIsAnsweredButEnqueuesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h, body := qbNotice("2024-03-05T10:11:12.000-08:00")
	first := b.post(t, "/hooks/accounting", h, body)
	require.Equal(t, http.StatusAccepted, first.status, first.body)
	require.Equal(t, float64(2), decode(t, first)["accepted"])
	require.Equal(t, 2, b.refreshJobs(t))

	// Completed refreshes no longer hold their records back: only the
	// replay check stops the second delivery.
	_, err := b.pool.Exec(context.Background(), `DELETE FROM river_job`)
	require.NoError(t, err)
	again := b.post(t, "/hooks/accounting", h, body)
	require.Equal(t, http.StatusOK, again.status, again.body)
	require.Equal(t, map[string]any{"accepted": float64(0), "replay": true}, decode(t, again))
	require.Zero(t, b.refreshJobs(t))

	h, body = qbNotice("2024-03-05T10:20:00.000-08:00")
	later := b.post(t, "/hooks/accounting", h, body)
	require.Equal(t, http.StatusAccepted, later.status, later.body)
	require.Equal(t, float64(2), decode(t, later)["accepted"], "a later change of the same records")

	// Square: keyed by event_id, remembered in the database, so another
	// process (another handler on the same database) drops it too.
	other := setup(t)
	other.pool, other.handler.Pool, other.handler.River = b.pool, b.pool, b.river
	other.handler.TenantID = b.handler.TenantID
	h, body = b.sqNotice("6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "order-1")
	got := b.post(t, "/hooks/inventory", h, body)
	require.Equal(t, http.StatusAccepted, got.status, got.body)
	_, err = b.pool.Exec(context.Background(), `DELETE FROM river_job`)
	require.NoError(t, err)
	h, body = other.sqNotice("6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "order-1")
	got = other.post(t, "/hooks/inventory", h, body)
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, true, decode(t, got)["replay"])
	require.Zero(t, b.refreshJobs(t))
}

// TestChangeOfAnObjectNothingSyncsEnqueuesNothing: a notice names every
// record its source changed; one of an object no mapping reads makes no
// refresh job, which could only be cancelled.
func TestChangeOfAnObjectNothingSyncsEnqueuesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(h *hooks.Handler) {
		h.Synced = func(connection, object string) bool { return connection == "accounting" && object == "Invoice" }
	})
	h, body := qbNotice("2024-03-05T10:11:12.000-08:00")
	got := b.post(t, "/hooks/accounting", h, body)
	require.Equal(t, http.StatusAccepted, got.status, got.body)
	require.Equal(t, float64(1), decode(t, got)["accepted"], "the invoice, not the customer")
	var object string
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT args->>'object' FROM river_job WHERE kind = 'sync_refresh'`).Scan(&object))
	require.Equal(t, "Invoice", object)
}

// failingInserter fails the first insert: the source's retry of that
// notice must not be taken for a replay.
type failingInserter struct {
	hooks.Inserter
	fail atomic.Bool
}

func (f *failingInserter) InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	if f.fail.CompareAndSwap(true, false) {
		return nil, errors.New("injected failure")
	}
	return f.Inserter.InsertManyTx(ctx, tx, params)
}

func TestFailedEnqueueIsNotRemembered(t *testing.T) {
	t.Parallel()
	logs := logtest.New()
	b := setup(t, func(h *hooks.Handler) { h.Logger = logs.Logger() })
	fi := &failingInserter{Inserter: b.river}
	fi.fail.Store(true)
	b.handler.River = fi
	h, body := b.sqNotice("c4f2a1d0-54a1-4eb0-a98a-3111513fd4fc", "order-2")
	got := b.post(t, "/hooks/inventory", h, body)
	require.Equal(t, http.StatusServiceUnavailable, got.status, got.body)
	require.JSONEq(t, `{"error":{"code":"unavailable","message":"try again"}}`, got.body)
	failed := logs.Matching("server error")
	require.Len(t, failed, 1, "the 503 is logged")
	id, ok := failed[0].Value("request_id")
	require.True(t, ok && id.String() != "", "with the request id: %v", failed[0].Attrs)
	cause, _ := failed[0].Value("error")
	require.Contains(t, cause.String(), "injected failure")
	got = b.post(t, "/hooks/inventory", h, body)
	require.Equal(t, http.StatusAccepted, got.status, got.body)
	require.Equal(t, 1, b.refreshJobs(t))
}

// TestSeenEventsArePruned: events older than the window are forgotten
// (and deleted), so the table stays small and an old event id is new again.
func TestSeenEventsArePruned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h, body := b.sqNotice("0d5c1c1e-54a1-4eb0-a98a-3111513fd4fc", "order-3")
	require.Equal(t, http.StatusAccepted, b.post(t, "/hooks/inventory", h, body).status)
	_, err := b.pool.Exec(context.Background(), `UPDATE webhook_event_seen SET created_at = now() - interval '25 hours'`)
	require.NoError(t, err)
	_, err = b.pool.Exec(context.Background(), `DELETE FROM river_job`)
	require.NoError(t, err)
	got := b.post(t, "/hooks/inventory", h, body)
	require.Equal(t, http.StatusAccepted, got.status, "an event seen before the window is new again: %s", got.body)

	_, err = b.pool.Exec(context.Background(), `UPDATE webhook_event_seen SET created_at = now() - interval '25 hours'`)
	require.NoError(t, err)
	fresh := setup(t) // a new process prunes on its first notice
	fresh.pool, fresh.handler.Pool, fresh.handler.River, fresh.handler.TenantID = b.pool, b.pool, b.river, b.handler.TenantID
	h, body = fresh.sqNotice("9e9e9e9e-54a1-4eb0-a98a-3111513fd4fc", "order-4")
	require.Equal(t, http.StatusAccepted, fresh.post(t, "/hooks/inventory", h, body).status)
	var events []string
	rows, err := b.pool.Query(context.Background(), `SELECT event FROM webhook_event_seen`)
	require.NoError(t, err)
	events, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"9e9e9e9e-54a1-4eb0-a98a-3111513fd4fc"}, events)
}

// TestNoticeNamingTooManyRecordsIsRefused: whatever the source, one notice
// cannot ask for more than 1000 refreshes.
func TestNoticeNamingTooManyRecordsIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	entities := make([]string, 1001)
	for i := range entities {
		entities[i] = fmt.Sprintf(`{"name":"Invoice","id":"%d","operation":"Update","lastUpdated":"2024-03-05T10:11:12.000-08:00"}`, i)
	}
	body := []byte(fmt.Sprintf(`{"eventNotifications":[{"realmId":%q,"dataChangeEvent":{"entities":[%s]}}]}`, qbRealm, strings.Join(entities, ",")))
	h := http.Header{"Content-Type": {"application/json"}, "Intuit-Signature": {fakesource.WebhookSignature(qbVerifier, "", body)}}
	got := b.post(t, "/hooks/accounting", h, body)
	require.Equal(t, http.StatusRequestEntityTooLarge, got.status, got.body)
	require.Zero(t, b.refreshJobs(t))
	var seen int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_event_seen`).Scan(&seen))
	require.Zero(t, seen, "a refused notice is not remembered")
}
