package writeback_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/writeback"
)

func sfWrites(sim *fakesource.Sim, key string) int {
	for _, w := range sim.Stats().Writes {
		if w.System == fakesource.Salesforce && strings.HasSuffix(w.Key, "/"+key) {
			return w.Count
		}
	}
	return 0
}

// TestCreateShowsPendingThenApplied: the new case shows at once under a
// provisional id, marked pending; once applied, the source's record with
// its real id replaces it, created through the action's key.
func TestCreateShowsPendingThenApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 0)
	cases0 := e.sim.Stats().Records[fakesource.Salesforce]["Case"]

	e.health.open.Store(true) // hold it pending while we look
	a, created, err := e.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Printer on fire"}, "k1"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, writeback.StatePending, a.State)
	require.Equal(t, writeback.ProvisionalID(a.ID), a.Target)

	rd := records.New(records.Options{Pool: e.pool, Mappings: e.set})
	scope := access.Scope{TenantID: 1, Accounts: []string{c.account}, Roles: []string{mapping.RoleMember}}
	rec, err := rd.Get(ctx, scope, "case", a.Target, records.GetOptions{})
	require.NoError(t, err, "the pending case is visible in the user's scope")
	require.Equal(t, "Printer on fire", rec.Field("subject"))
	require.NotNil(t, rec.PendingAction)
	require.Equal(t, a.ID, rec.PendingAction.ID)
	require.Equal(t, writeback.StatePending, rec.PendingAction.State)

	e.health.open.Store(false)
	a = e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	require.NotEmpty(t, a.ResultID)
	require.Equal(t, cases0+1, e.sim.Stats().Records[fakesource.Salesforce]["Case"])
	src, err := e.sim.Record(fakesource.Salesforce, "Case", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, "Printer on fire", src["Subject"])
	require.Equal(t, writeback.SourceKey(1, a.ID), src["Portico_Action_Id__c"])
	require.Equal(t, c.account, src["AccountId"])

	_, err = rd.Get(ctx, scope, "case", a.Target, records.GetOptions{})
	require.ErrorIs(t, err, records.ErrNotFound, "the provisional record is gone")
	rec, err = rd.Get(ctx, scope, "case", a.ResultID, records.GetOptions{})
	require.NoError(t, err)
	require.Nil(t, rec.PendingAction)
	require.Equal(t, a.ResultVersion, rec.Version)
	require.Equal(t, 1, a.Attempts)
}

// TestDuplicateSubmissionCreatesNothing: the same client key returns the
// first action; the same key for another action is refused.
func TestDuplicateSubmissionCreatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 1)
	req := c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Twice"}, "same-key")
	first, created, err := e.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := e.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)

	other := c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Something else"}, "same-key")
	_, _, err = e.svc.Submit(ctx, other)
	require.ErrorIs(t, err, writeback.ErrKeyReused)

	// Another user's identical key is theirs.
	c2 := e.customer(t, 2)
	theirs, created, err := e.svc.Submit(ctx, c2.request(writeback.KindCreateCase, "", map[string]any{"subject": "Twice"}, "same-key"))
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, first.ID, theirs.ID)

	e.waitState(t, first.ID, writeback.StateApplied, 15*time.Second)
	e.waitState(t, theirs.ID, writeback.StateApplied, 15*time.Second)
	var actions, jobs int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM action`).Scan(&actions))
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'writeback_apply'`).Scan(&jobs))
	require.Equal(t, 2, actions)
	require.Equal(t, 2, jobs)
	require.Equal(t, 1, sfWrites(e.sim, writeback.SourceKey(1, first.ID)))
}

// TestValidationRejectsBeforeAccepting: input the mapping refuses names
// its fields and stores nothing.
func TestValidationRejectsBeforeAccepting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 0)
	_, _, err := e.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": strings.Repeat("x", 300), "origin": "Phone"}, ""))
	var ve *mapping.ValidationError
	require.ErrorAs(t, err, &ve)
	paths := []string{}
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	require.ElementsMatch(t, []string{"subject", "origin"}, paths)

	_, _, err = e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, "003000000000000AAA", map[string]any{"title": "CEO"}, ""))
	require.ErrorIs(t, err, writeback.ErrForbidden, "someone else's contact")
	_, _, err = e.svc.Submit(ctx, c.request("launch_rocket", "", nil, ""))
	require.ErrorIs(t, err, writeback.ErrInvalid)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM action`).Scan(&n))
	require.Zero(t, n)
}

// TestSourceRejectionFailsWithItsMessage: the source refuses the write;
// the action fails with the source's reason and the provisional record
// goes away.
func TestSourceRejectionFailsWithItsMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c, caseID := e.caseCustomer(t, 0)
	other, otherCase := e.caseCustomer(t, 1)
	for i := 2; other.account == c.account; i++ {
		other, otherCase = e.caseCustomer(t, i)
	}
	e.cache(t, "Case", caseID)
	e.cache(t, "Case", otherCase)

	_, _, err := e.svc.Submit(ctx, c.request(writeback.KindAddCaseComment, "", map[string]any{"case_id": otherCase, "body": "Hi"}, ""))
	require.ErrorIs(t, err, writeback.ErrNotFound, "a comment only goes on a case the user can see")

	// The case is gone at the source since the cache saw it.
	require.NoError(t, e.sim.DeleteRecord(fakesource.Salesforce, "Case", caseID))
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindAddCaseComment, "",
		map[string]any{"case_id": caseID, "body": "Any news?"}, ""))
	require.NoError(t, err)
	a = e.waitState(t, a.ID, writeback.StateFailed, 15*time.Second)
	require.Contains(t, a.Message, "invalid cross reference id: "+caseID)
	require.Contains(t, a.ErrorDetail, "invalid")
	require.Empty(t, a.ForCustomer().ErrorDetail)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE source_id = $1`, a.Target).Scan(&n))
	require.Zero(t, n)
}

// TestConflictOnStaleVersion: someone edits the contact between the
// customer's view and the write; the action holds both sides and the
// source keeps the other edit.
func TestConflictOnStaleVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 3)
	e.cache(t, "Contact", c.contact)
	require.NoError(t, e.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{StaleNextWrite: true}))

	e.health.open.Store(true) // hold it pending while we look
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": "Chief Tester"}, ""))
	require.NoError(t, err)
	data, pending := e.cachedData(t, "contact", c.contact)
	require.Equal(t, "Chief Tester", data["fields"].(map[string]any)["title"], "the change shows while pending")
	require.NotNil(t, pending)
	e.health.open.Store(false)

	a = e.waitState(t, a.ID, writeback.StateConflict, 15*time.Second)
	var cf writeback.Conflict
	require.NoError(t, json.Unmarshal(a.Conflict, &cf))
	require.Equal(t, "Chief Tester", cf.Yours["title"])
	require.NotEqual(t, "Chief Tester", cf.Current["title"])
	require.NotEmpty(t, cf.CurrentVersion)
	src, err := e.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.NotEqual(t, "Chief Tester", src["Title"], "never last-writer-wins")
	data, pending = e.cachedData(t, "contact", c.contact)
	require.Equal(t, cf.Current["title"], data["fields"].(map[string]any)["title"], "the cache shows the source's values")
	require.NotNil(t, pending, "the record still names the action, in conflict")

	// Staff decide the change stands: it applies over the current version.
	srv := httptest.NewServer(e.svc.AdminRoutes(1))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/?state=conflict")
	require.NoError(t, err)
	var list struct{ Data []writeback.Action }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	require.Len(t, list.Data, 1)
	resp, err = http.Post(fmt.Sprintf("%s/%d/retry", srv.URL, a.ID), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	src, err = e.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.Equal(t, "Chief Tester", src["Title"])
	var audited int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'admin.action.retry' AND object_id = $1`,
		fmt.Sprint(a.ID)).Scan(&audited))
	require.Equal(t, 1, audited)

	// Errors come in the one shape every JSON endpoint answers.
	var refused struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Fields  []struct {
				Path string `json:"path"`
			} `json:"fields"`
		} `json:"error"`
	}
	resp, err = http.Post(fmt.Sprintf("%s/%d/discard", srv.URL, a.ID), "", nil)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&refused))
	resp.Body.Close()
	require.Equal(t, http.StatusConflict, resp.StatusCode, "an applied action cannot be discarded")
	require.Equal(t, "conflict", refused.Error.Code)
	require.NotEmpty(t, refused.Error.Message)
	resp, err = http.Get(srv.URL + "/?state=bogus")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&refused))
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid", refused.Error.Code)
	require.Len(t, refused.Error.Fields, 1)
	require.Equal(t, "state", refused.Error.Fields[0].Path)
}

// TestDiscardRestoresTheRecord: staff discard a failed update; the record
// shows its data from before, and the step is audited.
func TestDiscardRestoresTheRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 4)
	e.cache(t, "Contact", c.contact)
	before, _ := e.cachedData(t, "contact", c.contact)
	require.NoError(t, e.sim.DeleteRecord(fakesource.Salesforce, "Contact", c.contact))
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"phone": "+1 555 0100"}, ""))
	require.NoError(t, err)
	a = e.waitState(t, a.ID, writeback.StateFailed, 15*time.Second)
	require.NotEmpty(t, a.Message)
	after, pending := e.cachedData(t, "contact", c.contact)
	require.Equal(t, before, after, "a failed update's projection is undone")
	require.Nil(t, pending)

	srv := httptest.NewServer(e.svc.AdminRoutes(1))
	defer srv.Close()
	resp, err := http.Post(fmt.Sprintf("%s/%d/discard", srv.URL, a.ID), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	a, err = e.svc.Get(ctx, 1, a.ID)
	require.NoError(t, err)
	require.Equal(t, writeback.StateRejected, a.State)
	var audited int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'admin.action.discard'`).Scan(&audited))
	require.Equal(t, 1, audited)
}

// TestOpenBreakerSnoozesWithoutAttempts: while the breaker is open the
// job waits; no write is sent, no attempt is spent, then it applies.
func TestOpenBreakerSnoozesWithoutAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 0)
	e.health.open.Store(true)
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Wait for it"}, ""))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var snoozes int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE args->>'action_id' = $1`,
			fmt.Sprint(a.ID)).Scan(&snoozes))
		return snoozes >= 2
	}, 15*time.Second, 20*time.Millisecond)
	var attempt int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT attempt FROM river_job WHERE args->>'action_id' = $1`, fmt.Sprint(a.ID)).Scan(&attempt))
	require.Zero(t, attempt, "River spent no attempt on the waits")
	got, err := e.svc.Get(ctx, 1, a.ID)
	require.NoError(t, err)
	require.Equal(t, writeback.StatePending, got.State)
	require.Zero(t, got.Attempts, "no write was sent")
	require.Contains(t, got.ErrorDetail, "circuit breaker")
	require.Zero(t, sfWrites(e.sim, writeback.SourceKey(1, a.ID)))

	e.health.open.Store(false)
	got = e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	require.Equal(t, 1, got.Attempts)
}

// TestActionsOnOneRecordApplyInOrder: the first of three updates to one
// contact is held back by an outage; the later ones wait for it, so the
// source ends with the last change.
func TestActionsOnOneRecordApplyInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 5)
	e.cache(t, "Contact", c.contact)
	require.NoError(t, e.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{OutageSeconds: 1.5}))
	var ids []int64
	for i := range 3 {
		a, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": fmt.Sprint("step ", i)}, ""))
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	var applied []time.Time
	for _, id := range ids {
		a := e.waitState(t, id, writeback.StateApplied, 20*time.Second)
		applied = append(applied, *a.AppliedAt)
	}
	require.True(t, !applied[1].Before(applied[0]) && !applied[2].Before(applied[1]), "applied in acceptance order: %v", applied)
	src, err := e.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.Equal(t, "step 2", src["Title"])
	data, pending := e.cachedData(t, "contact", c.contact)
	require.Equal(t, "step 2", data["fields"].(map[string]any)["title"])
	require.Nil(t, pending)
	first, err := e.svc.Get(ctx, 1, ids[0])
	require.NoError(t, err)
	require.Positive(t, first.Attempts, "the first was really held back by the outage")
}

// TestFailedReauthenticationWaitsAndAlerts: the connection's credentials
// are refused; the action waits (not failed), says why, and the operator
// gauge is raised.
func TestFailedReauthenticationWaitsAndAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 500})
	cr := sim.Credentials(srv.URL)
	cr.Salesforce.ClientSecret, cr.Salesforce.RefreshToken = "revoked", "revoked"
	pool := dbtest.Pool(t)
	st, err := buildStack(ctx, pool, cr, stackOptions{metrics: writeback.NewMetrics(reg), authWait: time.Hour}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	require.NoError(t, st.river.Start(runCtx))
	e := &env{stack: st, pool: pool, sim: sim, creds: cr}
	c := e.customer(t, 0)
	a, _, err := st.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Locked out"}, ""))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := st.svc.Get(ctx, 1, a.ID)
		require.NoError(t, err)
		return strings.Contains(got.ErrorDetail, "authentication")
	}, 15*time.Second, 10*time.Millisecond)
	got, err := st.svc.Get(ctx, 1, a.ID)
	require.NoError(t, err)
	require.Contains(t, []string{writeback.StatePending, writeback.StateSending}, got.State, "waiting, not failed")
	require.Equal(t, 1.0, gaugeValue(t, reg, "portico_writeback_auth_failing"))
	require.Zero(t, sfWrites(sim, writeback.SourceKey(1, a.ID)), "nothing reached the source")
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestAttachFileKeepsContentOutOfTheCache: a file's content goes to the
// source, never into the cached projection, which shows the rest at once.
func TestAttachFileKeepsContentOutOfTheCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 0)
	e.health.open.Store(true)
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindAttachFile, "",
		map[string]any{"title": "Invoice scan", "file_name": "scan.txt", "content": "aGVsbG8="}, ""))
	require.NoError(t, err)
	data, _ := e.cachedData(t, "document", a.Target)
	fields := data["fields"].(map[string]any)
	require.Equal(t, "Invoice scan", fields["title"])
	require.NotContains(t, fields, "content")
	// Applying it is not checked here: the shipped mapping files the
	// document under the account (FirstPublishLocationId), which the
	// simulator accepts only as a case id.
}

// TestOrderUpdateCarriesSquareVersion: an order update is applied with
// the version the customer saw; a stale one becomes a conflict.
func TestOrderUpdateCarriesSquareVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	orderID, err := e.sim.SeedID(fakesource.Inventory, "Order", 0)
	require.NoError(t, err)
	order, err := e.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	cust, err := e.sim.Record(fakesource.Inventory, "Customer", order["customer_id"].(string))
	require.NoError(t, err)
	account := cust["reference_id"].(string)
	e.cache(t, "Account", account) // its Square customer id resolves the order's owner
	e.cacheFrom(t, "inventory", "order", orderID)
	c := customer{userID: "buyer", account: account}

	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateOrder, orderID, map[string]any{"reference": "PO-1"}, ""))
	require.NoError(t, err)
	a = e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	src, err := e.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	require.Equal(t, "PO-1", src["reference_id"])
	require.Equal(t, fmt.Sprint(src["version"]), a.ResultVersion)

	require.NoError(t, e.sim.SetFaults(fakesource.Inventory, fakesource.Faults{StaleNextWrite: true}))
	b, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateOrder, orderID, map[string]any{"reference": "PO-2"}, ""))
	require.NoError(t, err)
	require.Equal(t, a.ResultVersion, b.ExpectedVersion, "the cache held the applied version")
	e.waitState(t, b.ID, writeback.StateConflict, 15*time.Second)
	src, err = e.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	require.Equal(t, "PO-1", src["reference_id"])
}

// losingConnector applies the first write of each idempotency key at the
// source, then loses its answer, as a dropped connection would.
type losingConnector struct {
	connectors.Connector
	mu   sync.Mutex
	lost map[string]bool
}

func (l *losingConnector) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	res, err := l.Connector.Write(ctx, w)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && !l.lost[w.IdempotencyKey] {
		l.lost[w.IdempotencyKey] = true
		return nil, connectors.Classify(connectors.ErrUnavailable, errors.New("connection reset after the write"))
	}
	return res, err
}

// TestLostAnswerIsNotAppliedTwice: the source applied a write whose
// answer never came back. The retried create replays the same key and
// makes no second record; the retried update finds the source already
// holding the change (its own earlier write made the version stale) and
// is applied, not reported as a conflict.
func TestLostAnswerIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{wrap: func(c connectors.Connector) connectors.Connector {
		return &losingConnector{Connector: c, lost: map[string]bool{}}
	}})
	c := e.customer(t, 6)
	cases0 := e.sim.Stats().Records[fakesource.Salesforce]["Case"]
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Only once"}, ""))
	require.NoError(t, err)
	a = e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	require.Equal(t, 2, a.Attempts)
	require.Equal(t, 2, sfWrites(e.sim, writeback.SourceKey(1, a.ID)), "the key was presented twice")
	require.Equal(t, cases0+1, e.sim.Stats().Records[fakesource.Salesforce]["Case"], "and made one case")

	e.cache(t, "Contact", c.contact)
	u, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": "Once"}, ""))
	require.NoError(t, err)
	u = e.waitState(t, u.ID, writeback.StateApplied, 15*time.Second)
	require.Equal(t, 2, u.Attempts)
	src, err := e.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.Equal(t, "Once", src["Title"])
	data, pending := e.cachedData(t, "contact", c.contact)
	require.Equal(t, "Once", data["fields"].(map[string]any)["title"])
	require.Nil(t, pending)
}

// TestCloseCaseApplies: a customer closing their case sets its status at
// the source, and a reopening (any other status) is refused with the field.
func TestCloseCaseApplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c, caseID := e.caseCustomer(t, 0)
	e.cache(t, "Case", caseID)
	_, _, err := e.svc.Submit(ctx, c.request(writeback.KindCloseCase, caseID, map[string]any{"status": "in_progress"}, ""))
	require.Error(t, err, "customers may only close")
	a, _, err := e.svc.Submit(ctx, c.request(writeback.KindCloseCase, caseID, map[string]any{"status": "closed"}, ""))
	require.NoError(t, err)
	e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	rec, err := e.sim.Record(fakesource.Salesforce, "Case", caseID)
	require.NoError(t, err)
	require.Equal(t, "Closed", rec["Status"])
	var audited int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'action.applied' AND object_id = $1 AND actor_kind = 'system'`, caseID).Scan(&audited))
	require.Equal(t, 1, audited, "the result is audited")
}
