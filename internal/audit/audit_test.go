package audit_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type bundle struct {
	pool     *pgxpool.Pool
	log      *audit.Log
	tenant   int64 // "default"
	other    int64 // "acme"
	otherTen string
}

func setup(t testing.TB) bundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	def, err := store.TenantBySlug(ctx, pool, "default")
	require.NoError(t, err)
	acme, err := store.TenantCreate(ctx, pool, "acme", "Acme")
	require.NoError(t, err)
	return bundle{pool: pool, log: audit.New(pool, slog.New(slog.DiscardHandler)), tenant: def.ID, other: acme.ID, otherTen: "acme"}
}

func event(tenant int64, action string) audit.Event {
	return audit.Event{TenantID: tenant, Actor: audit.SystemActor(), Action: action}
}

func count(t *testing.T, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, where string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(context.Background(), "SELECT count(*) FROM audit_event WHERE "+where, args...).Scan(&n))
	return n
}

// seal seals everything committed, as the running processes' sealers do.
func seal(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	_, err := audit.Seal(context.Background(), pool)
	require.NoError(t, err)
}

// chainOf reads the seq and hash the sealer gave an event.
func chainOf(t *testing.T, pool *pgxpool.Pool, id int64) (seq int64, hash []byte) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT seq, hash FROM audit_event WHERE id = $1`, id).Scan(&seq, &hash))
	return seq, hash
}

// requireClean seals what is committed, then verifies.
func requireClean(t *testing.T, pool *pgxpool.Pool, slug string) audit.Report {
	t.Helper()
	seal(t, pool)
	rep, err := audit.Verify(context.Background(), pool, slug)
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	return rep
}

func TestRecordChainsEveryFieldAndVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	events := []audit.Event{
		{TenantID: b.tenant, Actor: audit.UserActor("u-42"), AccountID: "001ACME", IP: netip.MustParseAddr("203.0.113.9"),
			UserAgent: "Mozilla/5.0 (ünïcode)", RequestID: "req-1", Action: "auth.login"},
		{TenantID: b.tenant, Actor: audit.StaffActor("7"), IP: netip.MustParseAddr("2001:db8::1"), Action: "case.create",
			Object: "case", ObjectID: "500xyz", After: map[string]any{"subject": "Broken pump", "n": 1.50, "big": 1e21, "nested": map[string]any{"b": []any{1, "two", nil, true}, "a": "\"quoted\"\n"}}},
		{TenantID: b.tenant, Actor: audit.TokenActor("tok-1"), IP: netip.MustParseAddr("::ffff:10.1.2.3"), Action: "action.applied",
			Object: "case", ObjectID: "500xyz", Before: map[string]any{"status": "new"}, After: map[string]any{"status": "working"}},
		{TenantID: b.tenant, Actor: audit.SystemActor(), IP: netip.MustParseAddr("::1.2.3.4"), Action: "admin.action.retry",
			OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)), Before: []any{}, After: "a string"},
		{TenantID: b.other, Actor: audit.UserActor("u-9"), Action: "auth.logout"},
	}
	var appended []audit.Appended
	for _, e := range events {
		a, err := audit.Append(ctx, b.pool, e)
		require.NoError(t, err)
		appended = append(appended, a)
	}
	seal(t, b.pool)
	hashes := make([][]byte, len(appended))
	for i, a := range appended {
		var seq int64
		seq, hashes[i] = chainOf(t, b.pool, a.ID)
		require.Len(t, hashes[i], 32)
		if i < 4 {
			require.EqualValues(t, i+1, seq, "seqs count per tenant")
		} else {
			require.EqualValues(t, 1, seq, "the other tenant has a chain of its own")
		}
	}

	var actor, kind, ip string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT actor, actor_kind, host(ip) FROM audit_event WHERE id = $1`, appended[1].ID).Scan(&actor, &kind, &ip))
	require.Equal(t, "staff:7", actor)
	require.Equal(t, "staff", kind)
	require.Equal(t, "2001:db8::1", ip)
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT host(ip) FROM audit_event WHERE id = $1`, appended[2].ID).Scan(&ip))
	require.Equal(t, "10.1.2.3", ip, "an IPv4-mapped client address is stored as IPv4")

	var prev []byte
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT prev_hash FROM audit_event WHERE id = $1`, appended[1].ID).Scan(&prev))
	require.Equal(t, hashes[0], prev, "each row links to the previous row's hash")
	require.Equal(t, time.Date(2026, 1, 2, 2, 4, 5, 123456000, time.UTC), appended[3].OccurredAt.UTC(), "a given time is kept, to the microsecond")

	// The sealer computed every hash in Go; audit_hash_v1, the SQL side of
	// the encoding written apart from it (and the sealer of migration
	// 080), must give the same. Agreement on these awkward values (jsonb
	// key order and numbers, IPv6 forms, unicode, NULLs) is the check
	// that the two implementations match.
	require.Zero(t, count(t, b.pool, "hash IS DISTINCT FROM audit_hash_v1(audit_event)"), "Go and SQL hash alike")
	rep := requireClean(t, b.pool, "")
	require.EqualValues(t, 5, rep.Events)
	require.Len(t, rep.Chains, 2)
	require.EqualValues(t, 4, rep.Chains[0].HeadSeq)
	require.Equal(t, hashes[3], rep.Chains[0].HeadHash)

	rep = requireClean(t, b.pool, "acme")
	require.EqualValues(t, 1, rep.Events)
	_, err := audit.Verify(ctx, b.pool, "nosuch")
	require.ErrorIs(t, err, audit.ErrUnknownTenant)
}

// TestHashEncodingIsStable pins the version 1 encoding with a known
// answer, so that neither the sealer nor the verifier can drift from what
// auditors were told in doc.go. The expected value was computed apart from
// Portico, by the Python recipe in doc.go.
func TestHashEncodingIsStable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	a, err := audit.Append(ctx, b.pool, audit.Event{
		TenantID: b.tenant, OccurredAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Actor: audit.UserActor("u-1"), AccountID: "001", IP: netip.MustParseAddr("192.0.2.1"),
		UserAgent: "curl/8", RequestID: "r1", Action: "case.create", Object: "case", ObjectID: "c1",
		After: map[string]any{"subject": "x", "priority": 2},
	})
	require.NoError(t, err)
	seal(t, b.pool)
	_, hash := chainOf(t, b.pool, a.ID)
	require.Equal(t, "9966dd2fce453e4045bec2bc3e6b77134409747a0e4e0ac996d75783114749db", hex.EncodeToString(hash))
}

func TestRecordCommitsWithTheCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.Record(ctx, tx, event(b.tenant, "case.create")))
	require.NoError(t, tx.Rollback(ctx))
	require.Zero(t, count(t, b.pool, "true"), "a rolled-back change leaves no audit row")

	tx, err = b.pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.In(tx).Record(ctx, event(b.tenant, "case.create")))
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, b.log.Record(ctx, event(b.tenant, "case.update")))
	require.Equal(t, 2, count(t, b.pool, "true"))
	requireClean(t, b.pool, "")
	require.Equal(t, 1, count(t, b.pool, "seq = 1 AND action = 'case.create'"), "the rollback did not consume a seq")
}

func TestAPIRoleAppendsOwnTenantOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	require.NoError(t, b.log.Record(ctx, event(b.other, "auth.login")))

	asAPI := func(f func(tx pgx.Tx) error) error {
		return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL ROLE portico_api; SET LOCAL portico.tenant_id = '%d'`, b.tenant)); err != nil {
				return err
			}
			return f(tx)
		})
	}
	require.NoError(t, asAPI(func(tx pgx.Tx) error { return audit.Record(ctx, tx, event(b.tenant, "case.create")) }),
		"the API role appends")
	err := asAPI(func(tx pgx.Tx) error { return audit.Record(ctx, tx, event(b.other, "case.create")) })
	require.ErrorContains(t, err, "row-level security")
	err = asAPI(func(tx pgx.Tx) error {
		require.Equal(t, 1, count(t, tx, "true"), "the API role sees its tenant's rows only")
		return nil
	})
	require.NoError(t, err)
	for _, stmt := range []string{`UPDATE audit_event SET actor = 'x'`, `DELETE FROM audit_event`, `TRUNCATE audit_event`,
		`UPDATE audit_chain_head SET last_seq = 0`, `SELECT audit_seal(10)`, `SELECT audit_seal_tenant(1, 10)`,
		`SELECT audit_seal_link(1, 0, '{1}', ARRAY[sha256('')])`,
		fmt.Sprintf(`INSERT INTO audit_event (tenant_id, actor, actor_kind, action, seq, hash_version, prev_hash, hash)
			VALUES (%d, 'x', 'user', 'auth.login', 1, 1, sha256(''), sha256(''))`, b.tenant),
		fmt.Sprintf(`INSERT INTO audit_event (tenant_id, actor, actor_kind, action, recorded_at) VALUES (%d, 'x', 'user', 'auth.login', now())`, b.tenant),
	} {
		err := asAPI(func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt); return err })
		require.ErrorContains(t, err, "permission denied", stmt)
	}
	require.Equal(t, 2, count(t, b.pool, "true"))
	requireClean(t, b.pool, "")
}

func TestOwnerCannotChangeRowsWithoutMaintenance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	require.NoError(t, b.log.Record(ctx, event(b.tenant, "auth.login")))

	for _, stmt := range []string{`UPDATE audit_event SET actor = 'x'`, `DELETE FROM audit_event`, `TRUNCATE audit_event`} {
		_, err := b.pool.Exec(ctx, stmt)
		require.ErrorContains(t, err, "audit_event is append-only", stmt)
	}
	require.Equal(t, 1, count(t, b.pool, "actor = 'system'"))

	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SET LOCAL portico.audit_maintenance = 'on'; UPDATE audit_event SET actor = 'x'`)
		return err
	})
	require.NoError(t, err, "declared maintenance may change rows")
	require.Equal(t, 1, count(t, b.pool, "actor = 'x'"))
}

func TestInvalidEventsWriteNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for name, e := range map[string]audit.Event{
		"no tenant":         {Actor: audit.SystemActor(), Action: "case.create"},
		"no actor":          {TenantID: b.tenant, Action: "case.create"},
		"user without id":   {TenantID: b.tenant, Actor: audit.UserActor(""), Action: "case.create"},
		"unknown kind":      {TenantID: b.tenant, Actor: audit.Actor{Kind: "robot", ID: "1"}, Action: "case.create"},
		"undotted action":   {TenantID: b.tenant, Actor: audit.SystemActor(), Action: "create"},
		"upper-case action": {TenantID: b.tenant, Actor: audit.SystemActor(), Action: "Case.Create"},
		"id without object": {TenantID: b.tenant, Actor: audit.SystemActor(), Action: "case.create", ObjectID: "1"},
		"unencodable after": {TenantID: b.tenant, Actor: audit.SystemActor(), Action: "case.create", After: map[string]any{"f": func() {}}},
	} {
		err := b.log.Record(ctx, e)
		require.ErrorIs(t, err, audit.ErrInvalid, name)
	}
	require.Error(t, b.log.Record(ctx, event(999999, "case.create")), "an unknown tenant is refused by the database")
	require.Zero(t, count(t, b.pool, "true"))
	requireClean(t, b.pool, "")
}

func TestClientTextIsMadeStorable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'a'
	}
	e := event(b.tenant, "auth.login_failed")
	e.UserAgent = "bad\xff\x00utf8 é" + string(long)
	require.NoError(t, b.log.Record(ctx, e))
	var ua string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT user_agent FROM audit_event`).Scan(&ua))
	require.LessOrEqual(t, len(ua), 512)
	require.Contains(t, ua, "bad\uFFFDutf8 é")

	e = event(b.tenant, "case.comment")
	e.After = map[string]any{"body": "nul\x00here", "path": `C:\u0000dir`}
	require.NoError(t, b.log.Record(ctx, e), "jsonb refuses \\u0000; the event is still recorded")
	var body, path string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT after->>'body', after->>'path' FROM audit_event WHERE action = 'case.comment'`).Scan(&body, &path))
	require.Equal(t, "nul\uFFFDhere", body)
	require.Equal(t, `C:\u0000dir`, path, "an escaped backslash before u0000 is text, not a NUL")
	requireClean(t, b.pool, "")
}

// tamper runs stmt as a DBA would: the owner with the append-only trigger
// out of the way.
func tamper(t *testing.T, pool *pgxpool.Pool, stmt string, args ...any) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), stmt, args...)
		return err
	})
	require.NoError(t, err)
}

func seed(t *testing.T, b bundle, n int) []audit.Appended {
	t.Helper()
	var out []audit.Appended
	for i := range n {
		e := event(b.tenant, "case.update")
		e.After = map[string]any{"i": i}
		a, err := audit.Append(context.Background(), b.pool, e)
		require.NoError(t, err)
		out = append(out, a)
	}
	requireClean(t, b.pool, "")
	return out
}

func onlyProblem(t *testing.T, pool *pgxpool.Pool) audit.Problem {
	t.Helper()
	rep, err := audit.Verify(context.Background(), pool, "")
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1, "%v", rep.Problems)
	return rep.Problems[0]
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	t.Run("edited content", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 5)
		tamper(t, b.pool, `UPDATE audit_event SET after = '{"i": 99}' WHERE id = $1`, rows[2].ID)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.HashMismatch, p.Kind)
		require.Equal(t, rows[2].ID, p.ID)
		require.Equal(t, "case.update", p.Action)
		require.Equal(t, rows[2].OccurredAt.UTC(), p.OccurredAt.UTC())
		require.Contains(t, p.String(), fmt.Sprintf("event id %d", rows[2].ID))
	})
	t.Run("edited with the maintenance setting", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 3)
		err := pgx.BeginFunc(context.Background(), b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(context.Background(), `SET LOCAL portico.audit_maintenance = 'on'`); err != nil {
				return err
			}
			_, err := tx.Exec(context.Background(), `UPDATE audit_event SET actor = 'someone-else' WHERE id = $1`, rows[0].ID)
			return err
		})
		require.NoError(t, err)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.HashMismatch, p.Kind)
		require.Equal(t, rows[0].ID, p.ID)
	})
	t.Run("edited with a recomputed hash", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 4)
		tamper(t, b.pool, `UPDATE audit_event SET hash = sha256(hash) WHERE id = $1`, rows[1].ID)
		rep, err := audit.Verify(context.Background(), b.pool, "")
		require.NoError(t, err)
		require.Len(t, rep.Problems, 2)
		require.Equal(t, audit.HashMismatch, rep.Problems[0].Kind)
		require.Equal(t, rows[1].ID, rep.Problems[0].ID)
		require.Equal(t, audit.PrevHashMismatch, rep.Problems[1].Kind, "the next row no longer links to it")
		require.Equal(t, rows[2].ID, rep.Problems[1].ID)
	})
	t.Run("deleted row", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 5)
		tamper(t, b.pool, `DELETE FROM audit_event WHERE id = $1`, rows[2].ID)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.Gap, p.Kind)
		require.Equal(t, rows[3].ID, p.ID, "named at the row after the gap")
		require.Contains(t, p.Detail, fmt.Sprintf("event seq 3 is missing between event id %d and it", rows[1].ID))
	})
	t.Run("deleted first row", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 3)
		tamper(t, b.pool, `DELETE FROM audit_event WHERE id = $1`, rows[0].ID)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.Gap, p.Kind)
		require.Equal(t, rows[1].ID, p.ID)
		require.Contains(t, p.Detail, "event seq 1 is missing before it")
	})
	t.Run("deleted last rows", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 5)
		tamper(t, b.pool, `DELETE FROM audit_event WHERE id >= $1`, rows[3].ID)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.Gap, p.Kind)
		require.Equal(t, rows[2].ID, p.ID, "named at the last row left")
		require.Contains(t, p.Detail, "events seq 4..5 are missing after it")
	})
	t.Run("every row deleted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b, 2)
		tamper(t, b.pool, `DELETE FROM audit_event`)
		p := onlyProblem(t, b.pool)
		require.Equal(t, audit.HeadMismatch, p.Kind)
		require.Contains(t, p.String(), "no events remain")
	})
	t.Run("inserted row", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := seed(t, b, 3)
		// A forged row slipped in with the trigger off, copying its
		// neighbour's chain fields.
		tamper(t, b.pool, `INSERT INTO audit_event (tenant_id, seq, occurred_at, actor, actor_kind, action, hash_version, prev_hash, hash)
			SELECT tenant_id, 4, occurred_at, 'forger', 'user', 'auth.login', 1, hash, hash FROM audit_event WHERE id = $1`, rows[2].ID)
		rep, err := audit.Verify(context.Background(), b.pool, "")
		require.NoError(t, err)
		require.NotEmpty(t, rep.Problems)
		require.Equal(t, audit.HashMismatch, rep.Problems[0].Kind)
		require.Greater(t, rep.Problems[0].ID, rows[2].ID)
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"email":    "a@example.com",
		"Password": "hunter2",
		"nested":   map[string]any{"client_secret": "s", "keep": 1},
		"list":     []any{map[string]any{"TOKEN": "t", "n": 2}},
	}
	out := audit.Redact(in, "password", "client_secret", "token")
	require.Equal(t, map[string]any{
		"email":    "a@example.com",
		"Password": audit.Redacted,
		"nested":   map[string]any{"client_secret": audit.Redacted, "keep": 1},
		"list":     []any{map[string]any{"TOKEN": audit.Redacted, "n": 2}},
	}, out)
	require.Equal(t, "hunter2", in["Password"], "the input is not modified")
	require.Nil(t, audit.Redact(nil, "x"))
}

func TestWithRequest(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"198.51.100.7:4431":        "198.51.100.7",
		"[2001:db8::5]:443":        "2001:db8::5",
		"[::ffff:192.0.2.4]:80":    "192.0.2.4",
		"192.0.2.8":                "192.0.2.8", // RealIP leaves no port
		"not an address":           "invalid IP",
		"[fe80::1%eth0]:80":        "fe80::1",
		"2001:db8::9":              "2001:db8::9",
		"[2001:db8::10]":           "2001:db8::10",
		"unix-socket-peer@example": "invalid IP",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("User-Agent", "test-agent")
		e := audit.Event{}.WithRequest(r)
		require.Equal(t, want, e.IP.String(), remote)
		require.Equal(t, "test-agent", e.UserAgent)
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	bb := setup(b)
	e := audit.Event{TenantID: bb.tenant, Actor: audit.UserActor("u-1"), IP: netip.MustParseAddr("192.0.2.1"),
		Action: "case.update", Object: "case", ObjectID: "500x", Before: map[string]any{"status": "new"}, After: map[string]any{"status": "working"}}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := bb.log.Record(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel_one_tenant", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bb.log.Record(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// The baseline: the same row into a table with the same columns,
	// constraints and indexes but no chain trigger, to show what the chain
	// costs.
	_, err := bb.pool.Exec(ctx, `CREATE TABLE plain_event (LIKE audit_event INCLUDING ALL); CREATE SEQUENCE plain_seq`)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline_plain_insert", func(b *testing.B) {
		for b.Loop() {
			_, err := bb.pool.Exec(ctx, `INSERT INTO plain_event (tenant_id, seq, actor, actor_kind, ip, action, object, object_id, before, after, hash_version, prev_hash, hash)
				VALUES ($1, nextval('plain_seq'), 'u-1', 'user', '192.0.2.1', 'case.update', 'case', '500x', '{"status":"new"}', '{"status":"working"}', 1, $2, $2)`, bb.tenant, make([]byte, 32))
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
