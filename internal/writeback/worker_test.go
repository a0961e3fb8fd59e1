package writeback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/writeback"
)

// The write-back worker's tests: each works its jobs with rivertest in the
// test's transaction (unit_test.go). writeback_test.go keeps the tests of
// the service on a running River client.

// TestDuplicateSubmissionCreatesNothing: the same client key returns the
// first action and inserts no second job; the same key for another action
// is refused.
func TestDuplicateSubmissionCreatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 1)
	req := c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Twice"}, "same-key")
	first := u.submit(t, req)
	again, created, err := u.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)

	other := c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Something else"}, "same-key")
	_, _, err = u.svc.Submit(ctx, other)
	require.ErrorIs(t, err, writeback.ErrKeyReused)

	// Another user's identical key is theirs.
	c2 := u.customer(t, 2)
	theirs := u.submit(t, c2.request(writeback.KindCreateCase, "", map[string]any{"subject": "Twice"}, "same-key"))
	require.NotEqual(t, first.ID, theirs.ID)

	rivertest.RequireManyInsertedTx[*riverpgxv5.Driver](ctx, t, u.tx, []rivertest.ExpectedJob{
		{Args: writeback.ApplyArgs{ActionID: first.ID}}, {Args: writeback.ApplyArgs{ActionID: theirs.ID}},
	})
	require.Equal(t, writeback.StateApplied, u.apply(t, first.ID).State)
	require.Equal(t, writeback.StateApplied, u.apply(t, theirs.ID).State)
	require.Equal(t, 2, u.count(t, `SELECT count(*) FROM action`))
	require.Equal(t, 1, sfWrites(u.sim, writeback.SourceKey(1, first.ID)))
}

// TestValidationRejectsBeforeAccepting: input the mapping refuses names
// its fields and stores nothing, no action and no job.
func TestValidationRejectsBeforeAccepting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 0)
	_, _, err := u.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": strings.Repeat("x", 300), "origin": "Phone"}, ""))
	var ve *mapping.ValidationError
	require.ErrorAs(t, err, &ve)
	paths := []string{}
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	require.ElementsMatch(t, []string{"subject", "origin"}, paths)

	_, _, err = u.svc.Submit(ctx, c.request(writeback.KindUpdateContact, "003000000000000AAA", map[string]any{"title": "CEO"}, ""))
	require.ErrorIs(t, err, writeback.ErrForbidden, "someone else's contact")
	_, _, err = u.svc.Submit(ctx, c.request("launch_rocket", "", nil, ""))
	require.ErrorIs(t, err, writeback.ErrInvalid)
	require.Zero(t, u.count(t, `SELECT count(*) FROM action`))
	rivertest.RequireNotInsertedTx[*riverpgxv5.Driver](ctx, t, u.tx, writeback.ApplyArgs{}, nil)
}

// TestSourceRejectionFailsWithItsMessage: the source refuses the write;
// the action fails with the source's reason and the provisional record
// goes away.
func TestSourceRejectionFailsWithItsMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newUnit(t, stackOptions{})
	c, caseID := u.caseCustomer(t, 0)
	other, otherCase := u.caseCustomer(t, 1)
	for i := 2; other.account == c.account; i++ {
		other, otherCase = u.caseCustomer(t, i)
	}
	u.cache(t, "Case", caseID)
	u.cache(t, "Case", otherCase)

	_, _, err := u.svc.Submit(ctx, c.request(writeback.KindAddCaseComment, "", map[string]any{"case_id": otherCase, "body": "Hi"}, ""))
	require.ErrorIs(t, err, writeback.ErrNotFound, "a comment only goes on a case the user can see")

	// The case is gone at the source since the cache saw it.
	require.NoError(t, u.sim.DeleteRecord(fakesource.Salesforce, "Case", caseID))
	a := u.submit(t, c.request(writeback.KindAddCaseComment, "", map[string]any{"case_id": caseID, "body": "Any news?"}, ""))
	require.Equal(t, 1, u.count(t, `SELECT count(*) FROM record WHERE source_id = $1`, a.Target), "the comment shows while pending")
	a = u.apply(t, a.ID)
	require.Equal(t, writeback.StateFailed, a.State)
	require.Contains(t, a.Message, "invalid cross reference id: "+caseID)
	require.Contains(t, a.ErrorDetail, "invalid")
	require.Empty(t, a.ForCustomer().ErrorDetail)
	require.Zero(t, u.count(t, `SELECT count(*) FROM record WHERE source_id = $1`, a.Target))
}

// TestConflictOnStaleVersion: someone edits the contact between the
// customer's view and the write; the action holds both sides and the
// source keeps the other edit, until staff retry it.
func TestConflictOnStaleVersion(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 3)
	u.cache(t, "Contact", c.contact)
	require.NoError(t, u.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{StaleNextWrite: true}))

	a := u.submit(t, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": "Chief Tester"}, ""))
	data, pending := u.cachedData(t, "contact", c.contact)
	require.Equal(t, "Chief Tester", data["fields"].(map[string]any)["title"], "the change shows while pending")
	require.NotNil(t, pending)

	a = u.apply(t, a.ID)
	require.Equal(t, writeback.StateConflict, a.State)
	var cf writeback.Conflict
	require.NoError(t, json.Unmarshal(a.Conflict, &cf))
	require.Equal(t, "Chief Tester", cf.Yours["title"])
	require.NotEqual(t, "Chief Tester", cf.Current["title"])
	require.NotEmpty(t, cf.CurrentVersion)
	src, err := u.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.NotEqual(t, "Chief Tester", src["Title"], "never last-writer-wins")
	data, pending = u.cachedData(t, "contact", c.contact)
	require.Equal(t, cf.Current["title"], data["fields"].(map[string]any)["title"], "the cache shows the source's values")
	require.NotNil(t, pending, "the record still names the action, in conflict")

	// Staff decide the change stands: a new job applies it over the
	// current version.
	srv := httptest.NewServer(u.svc.AdminRoutes(1))
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
	require.Equal(t, 2, u.inserted, "the retry inserted a job")
	require.Equal(t, writeback.StateApplied, u.apply(t, a.ID).State)
	src, err = u.sim.Record(fakesource.Salesforce, "Contact", c.contact)
	require.NoError(t, err)
	require.Equal(t, "Chief Tester", src["Title"])
	require.Equal(t, 1, u.count(t, `SELECT count(*) FROM audit_event WHERE action = 'admin.action.retry' AND object_id = $1`, fmt.Sprint(a.ID)))

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
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 4)
	u.cache(t, "Contact", c.contact)
	before, _ := u.cachedData(t, "contact", c.contact)
	require.NoError(t, u.sim.DeleteRecord(fakesource.Salesforce, "Contact", c.contact))
	a := u.submit(t, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"phone": "+1 555 0100"}, ""))
	a = u.apply(t, a.ID)
	require.Equal(t, writeback.StateFailed, a.State)
	require.NotEmpty(t, a.Message)
	after, pending := u.cachedData(t, "contact", c.contact)
	require.Equal(t, before, after, "a failed update's projection is undone")
	require.Nil(t, pending)

	srv := httptest.NewServer(u.svc.AdminRoutes(1))
	defer srv.Close()
	resp, err := http.Post(fmt.Sprintf("%s/%d/discard", srv.URL, a.ID), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, writeback.StateRejected, u.action(t, a.ID).State)
	require.Equal(t, 1, u.count(t, `SELECT count(*) FROM audit_event WHERE action = 'admin.action.discard'`))
}

// TestOpenBreakerSnoozesWithoutAttempts: while the breaker is open the
// job snoozes; no write is sent, no attempt is spent, then it applies.
func TestOpenBreakerSnoozesWithoutAttempts(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 0)
	u.health.open.Store(true)
	a := u.submit(t, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Wait for it"}, ""))
	job := u.job(t, a.ID)
	for range 2 {
		res, err := u.workJob(t, job)
		require.NoError(t, err)
		require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
		require.Zero(t, res.Job.Attempt, "River spent no attempt on the wait")
		job = res.Job
	}
	got := u.action(t, a.ID)
	require.Equal(t, writeback.StatePending, got.State)
	require.Zero(t, got.Attempts, "no write was sent")
	require.Contains(t, got.ErrorDetail, "circuit breaker")
	require.Zero(t, sfWrites(u.sim, writeback.SourceKey(1, a.ID)))

	u.health.open.Store(false)
	res, err := u.workJob(t, job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	got = u.action(t, a.ID)
	require.Equal(t, writeback.StateApplied, got.State)
	require.Equal(t, 1, got.Attempts)
}

// TestFailedReauthenticationWaitsAndAlerts: the connection's credentials
// are refused; the action waits (not failed), says why, and the operator
// gauge is raised.
func TestFailedReauthenticationWaitsAndAlerts(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	u := newUnit(t, stackOptions{metrics: writeback.NewMetrics(reg), authWait: time.Hour,
		creds: func(cr *fakesource.Credentials) {
			cr.Salesforce.ClientSecret, cr.Salesforce.RefreshToken = "revoked", "revoked"
		}})
	c := u.customer(t, 0)
	a := u.submit(t, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Locked out"}, ""))
	res, err := u.work(t, a.ID)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind, "waiting, not failed")
	require.WithinDuration(t, time.Now().Add(time.Hour), res.Job.ScheduledAt, 5*time.Minute, "for the auth wait")
	got := u.action(t, a.ID)
	require.Contains(t, []string{writeback.StatePending, writeback.StateSending}, got.State)
	require.Contains(t, got.ErrorDetail, "authentication")
	require.Equal(t, 1.0, gaugeValue(t, reg, "portico_writeback_auth_failing"))
	require.Zero(t, sfWrites(u.sim, writeback.SourceKey(1, a.ID)), "nothing reached the source")
}

// TestAttachFileNamesItsFile: an attach_file names a stored file by id and
// must; content in its input is refused by the mapping, so it never enters
// the action or the cache; the pending document shows no file reference.
func TestAttachFileNamesItsFile(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{})
	c, caseID := u.caseCustomer(t, 0)
	u.cache(t, "Case", caseID)
	input := map[string]any{"title": "Invoice scan", "file_name": "scan.txt", "related_id": caseID}
	req := c.request(writeback.KindAttachFile, "", input, "")
	req.ParentObject = "case"
	_, _, err := u.svc.Submit(context.Background(), req)
	require.ErrorIs(t, err, writeback.ErrInvalid, "no file named")

	input["file_id"] = int64(42)
	input["content"] = "aGVsbG8="
	_, _, err = u.svc.Submit(context.Background(), req)
	var ve *mapping.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "content", ve.Fields[0].Path)

	delete(input, "content")
	a := u.submit(t, req)
	require.JSONEq(t, `{"title":"Invoice scan","file_name":"scan.txt","related_id":"`+caseID+`","file_id":42}`, string(a.Input))
	data, _ := u.cachedData(t, "document", a.Target)
	fields := data["fields"].(map[string]any)
	require.Equal(t, "Invoice scan", fields["title"])
	require.NotContains(t, fields, "file_id")

	// Another account's case is not found.
	other, otherCase := u.caseCustomer(t, 1)
	for other.account == c.account {
		other, otherCase = u.caseCustomer(t, 2)
	}
	u.cache(t, "Case", otherCase)
	input["related_id"] = otherCase
	_, _, err = u.svc.Submit(context.Background(), req)
	require.ErrorIs(t, err, writeback.ErrNotFound)
}

// TestOrderUpdateCarriesSquareVersion: an order update is applied with
// the version the customer saw; a stale one becomes a conflict.
func TestOrderUpdateCarriesSquareVersion(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{})
	orderID, err := u.sim.SeedID(fakesource.Inventory, "Order", 0)
	require.NoError(t, err)
	order, err := u.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	cust, err := u.sim.Record(fakesource.Inventory, "Customer", order["customer_id"].(string))
	require.NoError(t, err)
	account := cust["reference_id"].(string)
	u.cache(t, "Account", account) // its Square customer id resolves the order's owner
	u.cacheFrom(t, "inventory", "order", orderID)
	c := customer{userID: "buyer", account: account}

	a := u.submit(t, c.request(writeback.KindUpdateOrder, orderID, map[string]any{"reference": "PO-1"}, ""))
	a = u.apply(t, a.ID)
	require.Equal(t, writeback.StateApplied, a.State)
	src, err := u.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	require.Equal(t, "PO-1", src["reference_id"])
	require.Equal(t, fmt.Sprint(src["version"]), a.ResultVersion)

	require.NoError(t, u.sim.SetFaults(fakesource.Inventory, fakesource.Faults{StaleNextWrite: true}))
	b := u.submit(t, c.request(writeback.KindUpdateOrder, orderID, map[string]any{"reference": "PO-2"}, ""))
	require.Equal(t, a.ResultVersion, b.ExpectedVersion, "the cache held the applied version")
	require.Equal(t, writeback.StateConflict, u.apply(t, b.ID).State)
	src, err = u.sim.Record(fakesource.Inventory, "Order", orderID)
	require.NoError(t, err)
	require.Equal(t, "PO-1", src["reference_id"])
}

// TestLostAnswerIsNotAppliedTwice: the source applied a write whose
// answer never came back. The retried create replays the same key and
// makes no second record; the retried update finds the source already
// holding the change (its own earlier write made the version stale) and
// is applied, not reported as a conflict.
func TestLostAnswerIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{wrap: func(c connectors.Connector) connectors.Connector {
		return &losingConnector{Connector: c, lost: map[string]bool{}}
	}})
	c := u.customer(t, 6)
	u.cache(t, "Contact", c.contact)
	cases0 := u.sim.Stats().Records[fakesource.Salesforce]["Case"]
	a := u.submit(t, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Only once"}, ""))
	a = u.retried(t, a.ID)
	require.Equal(t, writeback.StateApplied, a.State)
	require.Equal(t, 2, a.Attempts)
	require.Equal(t, 2, sfWrites(u.sim, writeback.SourceKey(1, a.ID)), "the key was presented twice")
	require.Equal(t, cases0+1, u.sim.Stats().Records[fakesource.Salesforce]["Case"], "and made one case")

	up := u.submit(t, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": "Once"}, ""))
	up = u.retried(t, up.ID)
	require.Equal(t, writeback.StateApplied, up.State)
	require.Equal(t, 2, up.Attempts)
	u.requireTitle(t, c.contact, "Once")
}

// retried works action id's job once, expecting the lost answer to make
// it wait for the source (a snooze), then again, and returns the action.
func (u *unit) retried(t *testing.T, id int64) *writeback.Action {
	t.Helper()
	res, err := u.work(t, id)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind, "the source seemed unavailable")
	require.Contains(t, u.action(t, id).ErrorDetail, "connection reset after the write")
	res, err = u.workJob(t, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	return u.action(t, id)
}

// TestCloseCaseApplies: a customer closing their case sets its status at
// the source, and a reopening (any other status) is refused with the field.
func TestCloseCaseApplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newUnit(t, stackOptions{})
	c, caseID := u.caseCustomer(t, 0)
	u.cache(t, "Case", caseID)
	_, _, err := u.svc.Submit(ctx, c.request(writeback.KindCloseCase, caseID, map[string]any{"status": "in_progress"}, ""))
	require.Error(t, err, "customers may only close")
	a := u.submit(t, c.request(writeback.KindCloseCase, caseID, map[string]any{"status": "closed"}, ""))
	require.Equal(t, writeback.StateApplied, u.apply(t, a.ID).State)
	rec, err := u.sim.Record(fakesource.Salesforce, "Case", caseID)
	require.NoError(t, err)
	require.Equal(t, "Closed", rec["Status"])
	require.Equal(t, 1, u.count(t, `SELECT count(*) FROM audit_event WHERE action = 'action.applied' AND object_id = $1 AND actor_kind = 'system'`, caseID),
		"the result is audited")
}

// TestJobRunAgainAfterItsActionSettledDoesNothing: River completes a job
// after the transaction that settles its action, so a crash in between
// runs the job again. That run finds the action applied and writes
// nothing: no second source write, no second audit entry, no change.
func TestJobRunAgainAfterItsActionSettledDoesNothing(t *testing.T) {
	t.Parallel()
	u := newUnit(t, stackOptions{})
	c := u.customer(t, 1)
	a := u.submit(t, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Once"}, ""))
	job := u.job(t, a.ID)
	res, err := u.workJob(t, job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	first := u.action(t, a.ID)
	require.Equal(t, writeback.StateApplied, first.State)

	// The completion was lost: the job is available again.
	_, err = u.tx.Exec(context.Background(), `UPDATE river_job SET state = 'available', finalized_at = NULL WHERE id = $1`, job.ID)
	require.NoError(t, err)
	res, err = u.workJob(t, job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, first, u.action(t, a.ID))
	require.Equal(t, 1, sfWrites(u.sim, writeback.SourceKey(1, a.ID)), "one source write")
	require.Equal(t, 1, u.count(t, `SELECT count(*) FROM audit_event WHERE action = 'action.applied'`))
}
