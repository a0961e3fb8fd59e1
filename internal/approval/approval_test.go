package approval_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestNext(t *testing.T) {
	t.Parallel()
	ok := []struct {
		from approval.State
		e    approval.Event
		to   approval.State
	}{
		{"", approval.EventRequest, approval.Requested},
		{approval.Requested, approval.EventView, approval.Viewed},
		{approval.Requested, approval.EventApprove, approval.Approved},
		{approval.Viewed, approval.EventApprove, approval.Approved},
		{approval.Viewed, approval.EventReject, approval.Rejected},
		{approval.Viewed, approval.EventExpire, approval.Expired},
		{approval.Viewed, approval.EventWithdraw, approval.Withdrawn},
		{approval.Approved, approval.EventWithdraw, approval.Withdrawn},
		{approval.Withdrawn, approval.EventRequest, approval.Requested},
		{approval.Expired, approval.EventRequest, approval.Requested},
	}
	for _, c := range ok {
		got, err := approval.Next(c.from, c.e)
		require.NoError(t, err, "%s + %s", c.from, c.e)
		require.Equal(t, c.to, got)
	}
	for _, c := range []struct {
		from approval.State
		e    approval.Event
	}{
		{approval.Approved, approval.EventReject}, {approval.Rejected, approval.EventApprove},
		{approval.Expired, approval.EventApprove}, {approval.Withdrawn, approval.EventApprove},
		{approval.Viewed, approval.EventView}, {"", approval.EventApprove}, {approval.Approved, approval.EventView},
	} {
		got, err := approval.Next(c.from, c.e)
		require.ErrorIs(t, err, approval.ErrTransition, "%s + %s", c.from, c.e)
		require.Equal(t, c.from, got)
	}
}

func TestConsentVersions(t *testing.T) {
	t.Parallel()
	cur := approval.CurrentConsent()
	en, loc, ok := approval.ConsentText(cur.Version, "en")
	require.True(t, ok)
	require.Equal(t, "en", loc)
	de, loc, ok := approval.ConsentText(cur.Version, "de")
	require.True(t, ok)
	require.Equal(t, "de", loc)
	require.NotEqual(t, en, de)
	fr, loc, ok := approval.ConsentText(cur.Version, "fr")
	require.True(t, ok)
	require.Equal(t, "en", loc, "a language without a text gets English, and says so")
	require.Equal(t, en, fr)
	_, _, ok = approval.ConsentText("1999-01-01", "en")
	require.False(t, ok)
}

type bundle struct {
	pool *pgxpool.Pool
	svc  *approval.Service
	now  time.Time
	req  approval.Request
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{pool: dbtest.Pool(t), now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	b.svc = approval.New(b.pool, func() time.Time { return b.now })
	b.req = approval.Request{TenantID: 1, Connection: "salesforce", Object: "approval_request", RecordID: "0Q0000000000001AAA", AccountID: "001A"}
	return b
}

func (b *bundle) audited(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := b.pool.Query(ctx,
		`SELECT action, actor, before, after FROM audit_event WHERE object = 'approval_request' ORDER BY id`)
	require.NoError(t, err)
	type row struct {
		action, actor string
		before, after []byte
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.action, &r.actor, &r.before, &r.after))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	// A customer's transitions are sealed under their key (invariant 10):
	// read as the audit listing reads them.
	o := audit.NewOpener(b.pool, 1)
	state := func(field string, v []byte) string {
		opened, err := o.JSON(ctx, field, v)
		require.NoError(t, err)
		var s struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal(opened, &s)
		return s.State
	}
	var out []string
	for _, r := range got {
		out = append(out, r.action+":"+r.actor+":"+state("before", r.before)+">"+state("after", r.after))
	}
	return out
}

// TestObserve walks a request through its life as the source and the
// customer move it; every transition is audited once, with its actor.
func TestObserve(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	alice := audit.UserActor("7")
	pending := approval.Source{Status: "pending", Visible: true, ExpiresOn: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}

	st, err := b.svc.Observe(ctx, b.req, pending, alice, nil, approval.EventView)
	require.NoError(t, err)
	require.Equal(t, approval.Viewed, st.State)
	require.Equal(t, "7", st.ViewedBy)
	// Opening it again changes nothing.
	st, err = b.svc.Observe(ctx, b.req, pending, alice, nil, approval.EventView)
	require.NoError(t, err)
	require.Equal(t, approval.Viewed, st.State)

	st, err = b.svc.Observe(ctx, b.req, pending, alice, nil, approval.EventApprove)
	require.NoError(t, err)
	require.Equal(t, approval.Approved, st.State)
	require.Equal(t, "7", st.DecidedBy)
	// A second decision is refused and changes nothing.
	_, err = b.svc.Observe(ctx, b.req, approval.Source{Status: "accepted", Visible: true}, alice, nil, approval.EventReject)
	require.ErrorIs(t, err, approval.ErrTransition)

	// Staff take the quote back to draft at the source: withdrawn; then
	// present it again, and it expires undecided.
	st, err = b.svc.Observe(ctx, b.req, approval.Source{Status: "preparing", Visible: false}, alice, nil, approval.EventView)
	require.NoError(t, err)
	require.Equal(t, approval.Withdrawn, st.State)
	b.now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err = b.svc.Observe(ctx, b.req, pending, alice, nil, "")
	require.NoError(t, err)
	require.Equal(t, approval.Expired, st.State)
	_, err = b.svc.Observe(ctx, b.req, pending, alice, nil, approval.EventApprove)
	require.ErrorIs(t, err, approval.ErrTransition, "an expired request is not decided")

	require.Equal(t, []string{
		"approval.request:system:>requested",
		"approval.view:7:requested>viewed",
		"approval.approve:7:viewed>approved",
		"approval.withdraw:system:approved>withdrawn",
		"approval.request:system:withdrawn>requested",
		"approval.expire:system:requested>expired",
	}, b.audited(t))
	got, err := b.svc.Get(ctx, b.req)
	require.NoError(t, err)
	require.Equal(t, approval.Expired, got.State)
}

// TestReconcile: the periodic job moves stored requests as their cached
// records change: hidden (back to draft at the source) is withdrawn,
// visible again is requested, past its expiry date is expired, accepted
// at the source is approved; a request in line is left alone.
func TestReconcile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `INSERT INTO record (tenant_id, connection, object, source_id, source_object, owner_account, hidden, status, data, raw, mapping_hash)
		VALUES (1, 'salesforce', 'approval_request', $1, 'Quote', '001A', false, 'pending', '{"fields": {"expires_on": "2026-12-31"}}', '{}', 'h')`, b.req.RecordID)
	require.NoError(t, err)
	set := func(stmt string) {
		_, err := b.pool.Exec(ctx, `UPDATE record SET `+stmt+` WHERE source_id = $1`, b.req.RecordID)
		require.NoError(t, err)
	}
	reconcile := func(changed int, want approval.State) {
		t.Helper()
		n, err := b.svc.Reconcile(ctx, 100)
		require.NoError(t, err)
		require.Equal(t, changed, n)
		st, err := b.svc.Get(ctx, b.req)
		require.NoError(t, err)
		require.Equal(t, want, st.State)
	}
	_, err = b.svc.Observe(ctx, b.req, approval.Source{Status: "pending", Visible: true}, audit.UserActor("7"), nil, approval.EventView)
	require.NoError(t, err)
	reconcile(0, approval.Viewed)
	set(`hidden = true, status = 'preparing'`)
	reconcile(1, approval.Withdrawn)
	reconcile(0, approval.Withdrawn)
	set(`hidden = false, status = 'pending'`)
	reconcile(1, approval.Requested)
	b.now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	reconcile(1, approval.Expired)
	set(`status = 'accepted'`)
	reconcile(1, approval.Approved)
	require.Equal(t, []string{
		"approval.request:system:>requested",
		"approval.view:7:requested>viewed",
		"approval.withdraw:system:viewed>withdrawn",
		"approval.request:system:withdrawn>requested",
		"approval.expire:system:requested>expired",
		"approval.request:system:expired>requested",
		"approval.approve:system:requested>approved",
	}, b.audited(t))
}
