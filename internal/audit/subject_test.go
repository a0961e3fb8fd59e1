package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
)

// storedText is every text column of an event as stored.
func storedText(t *testing.T, b bundle, id int64) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT concat_ws('|', actor, account_id, user_agent, object, object_id, before::text, after::text, request_id) FROM audit_event WHERE id = $1`, id).Scan(&s))
	return s
}

func TestPersonalFieldsAreSealedAndShreddingKeepsTheChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	const email, ua = "mark.member@example.test", "Mozilla/5.0 (Mark's phone)"

	// A portal user's own change: sealed under user:42 by default.
	mine, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), UserAgent: ua,
		IP: netip.MustParseAddr("203.0.113.7"), Action: "user.contact_update", Object: "contact", ObjectID: "003A",
		Before: map[string]any{"phone": "+49 30 111"}, After: map[string]any{"phone": "+49 30 222", "email": email}})
	require.NoError(t, err)
	// A failed login naming only an address: sealed under its email subject.
	failed, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("anonymous"),
		Action: "auth.login_failed", Object: "user", After: map[string]any{"email": email}, Subject: audit.EmailSubject(email)})
	require.NoError(t, err)
	// Someone else's, and a system event about nobody: untouched by the erasure.
	other, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("43"), Action: "case.create",
		Object: "case", ObjectID: "500B", After: map[string]any{"subject": "Pump"}})
	require.NoError(t, err)
	plain, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.SystemActor(), Action: "sync.full",
		After: map[string]any{"records": 3}})
	require.NoError(t, err)

	for _, id := range []int64{mine.ID, failed.ID} {
		s := storedText(t, b, id)
		require.NotContains(t, s, email)
		require.NotContains(t, s, "+49 30")
		require.NotContains(t, s, "Mark's phone")
		require.Contains(t, s, "sealed_v1")
	}
	require.Contains(t, storedText(t, b, plain.ID), `"records": 3`, "an event about nobody stays in clear")

	open := func(id int64) (before, after json.RawMessage, userAgent string) {
		var bf, af []byte
		var u *string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT before, after, user_agent FROM audit_event WHERE id = $1`, id).Scan(&bf, &af, &u))
		o := audit.NewOpener(b.pool, b.tenant)
		before, err := o.JSON(ctx, "before", bf)
		require.NoError(t, err)
		after, err = o.JSON(ctx, "after", af)
		require.NoError(t, err)
		if u != nil {
			userAgent, err = o.UserAgent(ctx, *u)
			require.NoError(t, err)
		}
		return before, after, userAgent
	}
	before, after, gotUA := open(mine.ID)
	require.JSONEq(t, `{"phone": "+49 30 111"}`, string(before))
	require.JSONEq(t, `{"phone": "+49 30 222", "email": "`+email+`"}`, string(after))
	require.Equal(t, ua, gotUA)

	headBefore := requireClean(t, b.pool, "default").Chains[0]

	n, err := audit.ShredSubjects(ctx, b.pool, b.tenant, audit.UserSubject(42), audit.EmailSubject(email))
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	// The chain is untouched and verifies; the fields no longer open.
	rep := requireClean(t, b.pool, "default")
	require.Equal(t, headBefore.HeadHash, rep.Chains[0].HeadHash)
	require.EqualValues(t, 4, rep.Events)
	before, after, gotUA = open(mine.ID)
	require.JSONEq(t, string(audit.Erased), string(before))
	require.JSONEq(t, string(audit.Erased), string(after))
	require.Equal(t, audit.ErasedText, gotUA)
	_, after, _ = open(failed.ID)
	require.JSONEq(t, string(audit.Erased), string(after))
	_, after, _ = open(other.ID)
	require.JSONEq(t, `{"subject": "Pump"}`, string(after), "another person's events still open")

	// A tampered sealed row is still named after the erasure.
	tamper(t, b.pool, `UPDATE audit_event SET after = jsonb_set(after, '{sealed_v1,ct}', '"AAAA"') WHERE id = $1`, mine.ID)
	p := onlyProblem(t, b.pool)
	require.Equal(t, audit.HashMismatch, p.Kind)
	require.Equal(t, mine.ID, p.ID)
	require.Contains(t, p.String(), fmt.Sprintf("event id %d", mine.ID))
}

func TestSealedValueDoesNotOpenElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	a, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), Action: "case.update",
		Before: map[string]any{"x": 1}, After: map[string]any{"x": 2}})
	require.NoError(t, err)
	var bf []byte
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT before FROM audit_event WHERE id = $1`, a.ID).Scan(&bf))
	// The before's ciphertext offered as an after (or in another tenant) is refused.
	_, err = audit.NewOpener(b.pool, b.tenant).JSON(ctx, "after", bf)
	require.ErrorContains(t, err, "opening after")
	_, err = audit.ShredSubjects(ctx, b.pool, b.other, audit.UserSubject(42))
	require.NoError(t, err)
	got, err := audit.NewOpener(b.pool, b.tenant).JSON(ctx, "before", bf)
	require.NoError(t, err, "shredding in another tenant leaves this tenant's key")
	require.JSONEq(t, `{"x": 1}`, string(got))
}

func TestAPIRoleSealsUnderItsTenantsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL ROLE portico_api; SET LOCAL portico.tenant_id = '%d'`, b.tenant)); err != nil {
			return err
		}
		for range 2 { // the second finds the key the first made
			if err := audit.Record(ctx, tx, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), Action: "case.update",
				After: map[string]any{"x": 1}}); err != nil {
				return err
			}
		}
		_, err := audit.ShredSubjects(ctx, tx, b.tenant, audit.UserSubject(42))
		return err
	})
	require.ErrorContains(t, err, "permission denied", "only the owner destroys keys")
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL ROLE portico_api; SET LOCAL portico.tenant_id = '%d'`, b.tenant))
		if err != nil {
			return err
		}
		for range 2 {
			if err := audit.Record(ctx, tx, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), Action: "case.update",
				After: map[string]any{"x": 1}}); err != nil {
				return err
			}
		}
		return nil
	}))
	var keys int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM audit_subject_key WHERE tenant_id = $1`, b.tenant).Scan(&keys))
	require.Equal(t, 1, keys)
	requireClean(t, b.pool, "")
}

func TestAdminListingOpensSealedFieldsUntilTheKeyIsGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, err := audit.Append(ctx, b.pool, audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), UserAgent: "Firefox/140",
		Action: "user.contact_update", After: map[string]any{"phone": "+49 30 222"}})
	require.NoError(t, err)
	srv := httptest.NewServer(audit.AdminRoutes(b.log))
	t.Cleanup(srv.Close)
	list := func() audit.EventView {
		t.Helper()
		resp, err := http.Get(srv.URL + "/?actor=42")
		require.NoError(t, err)
		defer resp.Body.Close()
		var page audit.Page
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
		require.Len(t, page.Events, 1)
		return page.Events[0]
	}
	ev := list()
	require.JSONEq(t, `{"phone": "+49 30 222"}`, string(ev.After))
	require.Equal(t, "Firefox/140", *ev.UserAgent)

	_, err = audit.ShredSubjects(ctx, b.pool, b.tenant, audit.UserSubject(42))
	require.NoError(t, err)
	ev = list()
	require.JSONEq(t, `{"erased": true}`, string(ev.After))
	require.Equal(t, audit.ErasedText, *ev.UserAgent)
}

// Writers about one person do not queue behind each other: reading the
// subject's key takes no lock.
func TestWritersAboutOnePersonDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ev := audit.Event{TenantID: b.tenant, Actor: audit.UserActor("42"), Action: "case.update", After: map[string]any{"x": 1}}
	require.NoError(t, b.log.Record(ctx, ev)) // the key exists
	held, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = held.Rollback(ctx) }()
	require.NoError(t, audit.Record(ctx, held, ev))
	quick, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	require.NoError(t, pgx.BeginFunc(quick, b.pool, func(tx pgx.Tx) error { return audit.Record(quick, tx, ev) }),
		"a second writer about user 42 must not wait for the first's transaction")
	require.NoError(t, held.Commit(ctx))
	requireClean(t, b.pool, "")
}
