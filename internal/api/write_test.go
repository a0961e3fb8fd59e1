package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
)

func TestWritesAnswer202WithTheActionThroughWriteback(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)
	key := http.Header{"Idempotency-Key": {"k-123"}}

	res := ada.do("POST", "/api/v1/cases", map[string]any{"subject": "Router down", "priority": "high"}, key)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	act := res.json(t)
	require.Equal(t, "pending", act["state"])
	require.Equal(t, "create_case", act["kind"])
	require.Equal(t, "/api/v1/actions/"+act["id"].(string), res.header.Get("Location"))

	// A retry with the same key is the same action; another body is refused.
	again := ada.do("POST", "/api/v1/cases", map[string]any{"subject": "Router down", "priority": "high"}, key)
	require.Equal(t, http.StatusAccepted, again.code)
	require.Equal(t, act["id"], again.json(t)["id"])
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	reused := ada.do("POST", "/api/v1/cases", map[string]any{"subject": "Something else"}, key)
	require.Equal(t, http.StatusUnprocessableEntity, reused.code)

	// The action's state is visible to its account only.
	require.Equal(t, http.StatusOK, ada.get("/api/v1/actions/"+act["id"].(string)).code)
	require.Equal(t, http.StatusNotFound, bob.get("/api/v1/actions/"+act["id"].(string)).code)
	require.Equal(t, http.StatusNotFound, bob.get("/api/v1/actions/not-a-number").code)

	// Intake validation names the field.
	bad := ada.post("/api/v1/cases", map[string]any{"priority": "urgent"})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	paths := map[string]bool{}
	for _, f := range bad.json(t)["error"].(map[string]any)["fields"].([]any) {
		paths[f.(map[string]any)["path"].(string)] = true
	}
	require.Equal(t, map[string]bool{"subject": true, "priority": true}, paths)

	// A comment is accepted; an empty one is not.
	res = ada.post("/api/v1/cases/500A00000000000/comments", map[string]any{"body": "Any news?"})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, http.StatusUnprocessableEntity, ada.post("/api/v1/cases/500A00000000000/comments", map[string]any{}).code)

	// Closing a case is an action too; closing a closed one is a conflict.
	res = ada.post("/api/v1/cases/500A00000000000/close", nil)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, "close_case", res.json(t)["kind"])
	require.Equal(t, http.StatusConflict, ada.post("/api/v1/cases/500A00000000002/close", nil).code, "closed already")

	// Every accepted action is audited.
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE action = 'action.submit'`).Scan(&n))
	require.Equal(t, 3, n)
}

func TestApprovalDecisionShowsAsPendingOnTheRecord(t *testing.T) {
	t.Parallel()
	e := setup(t)
	buyer := e.user("buyer@alpha.example", Alpha, []string{"purchasing"}, false, false)
	member := e.user("member@alpha.example", Alpha, []string{"member"}, false, false)

	require.Equal(t, http.StatusNotFound, member.post("/api/v1/approvals/0Q0A00000000001/approve", nil).code, "members do not see approvals")
	require.Equal(t, http.StatusConflict, buyer.post("/api/v1/approvals/0Q0A00000000002/approve", nil).code, "already accepted")
	accepted := buyer.get("/api/v1/approvals/0Q0A00000000002").json(t)["approval"].(map[string]any)
	require.Equal(t, "approved", accepted["state"], "accepted at the source")
	require.Equal(t, false, accepted["pending"])
	require.Nil(t, accepted["signed_document"])
	awaiting := buyer.get("/api/v1/approvals/0Q0A00000000001").json(t)["approval"].(map[string]any)
	require.Equal(t, "awaiting", awaiting["state"])
	require.Equal(t, false, awaiting["pending"])
	require.Nil(t, awaiting["signed_document"])

	res := buyer.post("/api/v1/approvals/0Q0A00000000001/approve", nil)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	act := res.json(t)
	require.Equal(t, "decide_approval", act["kind"])

	rec := buyer.get("/api/v1/approvals/0Q0A00000000001").json(t)
	require.Equal(t, "accepted", rec["status"], "the pending projection shows the decision")
	pending := rec["freshness"].(map[string]any)["pending_action"].(map[string]any)
	require.Equal(t, act["id"], pending["id"])
	require.Equal(t, "pending", pending["state"])
	sent := rec["approval"].(map[string]any)
	require.Equal(t, "sent", sent["state"], "the decision is on its way to the source")
	require.Equal(t, "approved", sent["step"])
	require.Equal(t, true, sent["pending"])

	require.Equal(t, http.StatusConflict, buyer.post("/api/v1/approvals/0Q0A00000000001/reject", nil).code, "decided already")
}

func TestNotificationPreferences(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	prefs := c.get("/api/v1/me").json(t)["notifications"].(map[string]any)
	require.Equal(t, true, prefs["order_updates"], "defaults: everything")

	res := c.do("PATCH", "/api/v1/me/notifications", map[string]any{"order_updates": false}, nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	prefs = c.get("/api/v1/me").json(t)["notifications"].(map[string]any)
	require.Equal(t, false, prefs["order_updates"])
	require.Equal(t, true, prefs["case_updates"], "fields not sent stay")

	require.Equal(t, http.StatusUnprocessableEntity, c.do("PATCH", "/api/v1/me/notifications", map[string]any{"sms": true}, nil).code)
	require.Equal(t, http.StatusUnprocessableEntity, c.do("PATCH", "/api/v1/me/notifications", map[string]any{"email": "yes"}, nil).code)

	// Another user's preferences are their own; the change is audited.
	other := e.user("bob@alpha.example", Alpha, []string{"member"}, false, false)
	require.Equal(t, true, other.get("/api/v1/me").json(t)["notifications"].(map[string]any)["order_updates"])
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE action = 'user.notifications_update'`).Scan(&n))
	require.Equal(t, 1, n)
}

// A conflict is shown to the customer, and the one who made the change
// (or an account admin) settles it: keep_mine applies it over the source's
// newer version, keep_theirs withdraws it. Nobody else can, and only a
// conflict can be settled.
func TestResolveConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	buyer := e.user("buyer@alpha.example", Alpha, []string{"purchasing"}, false, false)
	otherBuyer := e.user("buyer2@alpha.example", Alpha, []string{"purchasing"}, false, false)
	admin := e.user("admin@alpha.example", Alpha, []string{"account_admin"}, false, false)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)
	conflict := func(id string) {
		_, err := e.pool.Exec(ctx, `UPDATE action SET state = 'conflict',
			conflict = '{"yours": {"status": "x"}, "current": {"status": "y"}, "current_version": "v2"}' WHERE id = $1`, id)
		require.NoError(t, err)
	}

	approve := buyer.post("/api/v1/approvals/0Q0A00000000001/approve", nil)
	require.Equal(t, http.StatusAccepted, approve.code, string(approve.body))
	id := approve.json(t)["id"].(string)
	path := "/api/v1/actions/" + id + "/resolve"
	require.Equal(t, http.StatusConflict, buyer.post(path, map[string]any{"resolution": "keep_mine"}).code, "a pending action is not a conflict")
	conflict(id)
	require.Equal(t, "conflict", buyer.get("/api/v1/actions/" + id).json(t)["state"])

	bad := buyer.post(path, map[string]any{"resolution": "mine"})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, string(bad.body), `"path":"resolution"`)
	require.Equal(t, http.StatusUnprocessableEntity, buyer.post(path, map[string]any{"resolution": "keep_mine", "force": true}).code)
	require.Equal(t, http.StatusNotFound, bob.post(path, map[string]any{"resolution": "keep_mine"}).code, "another account's action does not exist")
	require.Equal(t, http.StatusNotFound, buyer.post("/api/v1/actions/999999/resolve", map[string]any{"resolution": "keep_mine"}).code)
	require.Equal(t, http.StatusForbidden, otherBuyer.post(path, map[string]any{"resolution": "keep_mine"}).code)

	res := buyer.post(path, map[string]any{"resolution": "keep_mine"})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, "pending", res.json(t)["state"], "queued again")
	var expected string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT expected_version FROM action WHERE id = $1`, id).Scan(&expected))
	require.Equal(t, "v2", expected, "applied over the source's current version")
	require.Equal(t, http.StatusConflict, buyer.post(path, map[string]any{"resolution": "keep_theirs"}).code, "settled already")

	// An account admin may settle a member's conflict, and withdraw it.
	closeRes := ada.post("/api/v1/cases/500A00000000001/close", nil)
	require.Equal(t, http.StatusAccepted, closeRes.code, string(closeRes.body))
	closeID := closeRes.json(t)["id"].(string)
	conflict(closeID)
	res = admin.post("/api/v1/actions/"+closeID+"/resolve", map[string]any{"resolution": "keep_theirs"})
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	got := res.json(t)
	require.Equal(t, "rejected", got["state"])
	require.Equal(t, "You withdrew this change.", got["message"])
	rec := ada.get("/api/v1/cases/500A00000000001").json(t)
	require.Nil(t, rec["freshness"].(map[string]any)["pending_action"], "the source's record stands")

	var audited int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action LIKE 'action.resolve.%'`).Scan(&audited))
	require.Equal(t, 2, audited)
}

// An action is seen only by those who may see its object: a colleague
// whose roles do not reach the object gets the same 404 as a stranger.
// Resolving re-checks that the user still reaches the record it changes.
func TestActionsFollowTheirObjectsVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bill := e.user("bill@alpha.example", Alpha, []string{"billing"}, false, false)
	buyer := e.user("buyer@alpha.example", Alpha, []string{"purchasing"}, false, false)

	created := ada.post("/api/v1/cases", map[string]any{"subject": "Confidential HR issue"})
	require.Equal(t, http.StatusAccepted, created.code, string(created.body))
	caseAction := created.json(t)["id"].(string)
	approved := buyer.post("/api/v1/approvals/0Q0A00000000001/approve", nil)
	require.Equal(t, http.StatusAccepted, approved.code, string(approved.body))
	approvalAction := approved.json(t)["id"].(string)

	notFound := bill.get("/api/v1/actions/999999")
	require.Equal(t, http.StatusNotFound, notFound.code)
	for _, c := range []struct {
		who *client
		id  string
	}{{bill, caseAction}, {ada, approvalAction}} {
		res := c.who.get("/api/v1/actions/" + c.id)
		require.Equal(t, http.StatusNotFound, res.code, "a role that cannot see the object cannot see its action")
		require.Equal(t, notFound.body, res.body)
	}
	require.Equal(t, http.StatusOK, ada.get("/api/v1/actions/"+caseAction).code)
	require.Equal(t, http.StatusOK, buyer.get("/api/v1/actions/"+approvalAction).code)

	// A close in conflict, then the case moves to another account at the
	// source: resolving it would write to a record the user no longer sees.
	closed := ada.post("/api/v1/cases/500A00000000001/close", nil)
	require.Equal(t, http.StatusAccepted, closed.code)
	closeID := closed.json(t)["id"].(string)
	_, err := e.pool.Exec(ctx, `UPDATE action SET state = 'conflict',
		conflict = '{"yours": {"status": "closed"}, "current": {"status": "in_progress"}, "current_version": "v2"}' WHERE id = $1`, closeID)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE record SET owner_account = $1 WHERE object = 'case' AND source_id = '500A00000000001'`, Beta)
	require.NoError(t, err)
	res := ada.post("/api/v1/actions/"+closeID+"/resolve", map[string]any{"resolution": "keep_mine"})
	require.Equal(t, http.StatusNotFound, res.code, string(res.body))
	var state string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT state FROM action WHERE id = $1`, closeID).Scan(&state))
	require.Equal(t, "conflict", state, "nothing was sent again")
}

// PATCH /me/contact changes the user's own contact details through an
// update_contact write-back; the contact mapping's rules answer 422 naming
// the field, and a user without a contact (staff) has nothing to change.
func TestUpdateOwnContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	e.put("salesforce", "Contact", Alpha, apitest.SFContact(Alpha, "Ada", "Lovelace"))
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	staff := e.user("sam@portico.example", "", nil, false, true)

	res := ada.do("PATCH", "/api/v1/me/contact", map[string]any{"phone": "+44 20 7946 0000", "title": "Head of IT"}, nil)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	act := res.json(t)
	require.Equal(t, "update_contact", act["kind"])
	require.Equal(t, "003"+Alpha[3:], act["target"])
	require.Equal(t, map[string]any{"phone": "+44 20 7946 0000", "title": "Head of IT"}, act["input"])

	for body, field := range map[string]string{
		`{"phone": "call me"}`:  "phone",
		`{"last_name": ""}`:     "last_name",
		`{"email": "x@y.test"}`: "email",
		`{}`:                    "body",
	} {
		bad := ada.do("PATCH", "/api/v1/me/contact", body, nil)
		require.Equal(t, http.StatusUnprocessableEntity, bad.code, body+": "+string(bad.body))
		require.Contains(t, fieldPaths(t, bad), field, body)
	}
	require.Equal(t, http.StatusNotFound, staff.do("PATCH", "/api/v1/me/contact", map[string]any{"phone": "1"}, nil).code)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM action WHERE kind = 'update_contact'`).Scan(&n))
	require.Equal(t, 1, n, "refused changes leave no action")
}

// An approval request carries its lines, in their positions' order, and
// in the quote's currency; another account's quote (and so its lines)
// is a 404, and the lines are not an object of their own for a role the
// request is hidden from.
func TestApprovalCarriesItsLines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	buyer := e.user("buyer@beta.example", Beta, []string{"purchasing"}, false, false)
	member := e.user("member@beta.example", Beta, []string{"member"}, false, false)

	rec := buyer.get("/api/v1/approvals/0Q0B00000000001").json(t)
	require.Equal(t, "EUR", rec["fields"].(map[string]any)["currency"])
	lines := rec["lines"].([]any)
	require.Len(t, lines, 2)
	var names []string
	for _, l := range lines {
		f := l.(map[string]any)["fields"].(map[string]any)
		require.Equal(t, "0Q0B00000000001", f["approval_id"])
		require.Equal(t, "EUR", f["currency"])
		names = append(names, f["name"].(string))
	}
	require.Equal(t, []string{"Router rental, 12 months", "Installation"}, names, "in position order")
	require.Empty(t, buyer.get("/api/v1/approvals/0Q0B00000000002").json(t)["lines"], "a quote without lines has an empty list")

	require.Equal(t, http.StatusNotFound, buyer.get("/api/v1/approvals/0Q0A00000000001").code, "another account's quote")
	require.Equal(t, http.StatusNotFound, member.get("/api/v1/approvals/0Q0B00000000001").code, "a role without approvals")
}

// A rejection carries the customer's reason to the write-back; a blank
// one is refused, naming the field, and changes nothing.
func TestApprovalRejectPassesTheReason(t *testing.T) {
	t.Parallel()
	e := setup(t)
	buyer := e.user("buyer@alpha.example", Alpha, []string{"purchasing"}, false, false)
	count := func() (all, withReason int) {
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE input->>'decision_reason' = 'Too dear')
			FROM action WHERE kind = 'decide_approval'`).Scan(&all, &withReason))
		return all, withReason
	}

	bad := buyer.post("/api/v1/approvals/0Q0A00000000001/reject", map[string]any{"decision_reason": "   "})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, string(bad.body))
	require.Equal(t, "decision_reason", bad.json(t)["error"].(map[string]any)["fields"].([]any)[0].(map[string]any)["path"])
	long := buyer.post("/api/v1/approvals/0Q0A00000000001/reject", map[string]any{"decision_reason": strings.Repeat("x", 1001)})
	require.Equal(t, http.StatusUnprocessableEntity, long.code, "the mapping's limit")
	require.Equal(t, http.StatusUnprocessableEntity, buyer.post("/api/v1/approvals/0Q0A00000000001/reject", map[string]any{"reason": "x"}).code,
		"an unknown field is named, not dropped")
	all, _ := count()
	require.Zero(t, all, "bad input changes nothing")

	res := buyer.post("/api/v1/approvals/0Q0A00000000001/reject", map[string]any{"decision_reason": " Too dear "})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	all, withReason := count()
	require.Equal(t, 1, all)
	require.Equal(t, 1, withReason, "the reason is written with the decision, trimmed")

	// Approving takes no reason.
	require.Equal(t, http.StatusUnprocessableEntity,
		buyer.post("/api/v1/approvals/0Q0A00000000002/approve", map[string]any{"decision_reason": "x"}).code)
}
