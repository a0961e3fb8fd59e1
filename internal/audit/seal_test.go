package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
)

// TestConcurrentAppendsNeitherForkNorLose has many writers append to two
// tenants at once, committing and rolling back in an order unrelated to
// their ids, while two sealers (two processes) race each other. After a
// last seal every committed event has exactly one seq, the seqs of each
// tenant are 1..n, the chains verify, and no rolled-back event is there.
func TestConcurrentAppendsNeitherForkNorLose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	const writers, each = 16, 25
	type outcome struct {
		tenant    int64
		key       string
		committed bool
		err       error
	}
	results := make(chan outcome, writers*each)

	sealCtx, stopSealers := context.WithCancel(ctx)
	var sealers sync.WaitGroup
	for range 2 {
		sealers.Go(func() { audit.NewSealer(b.pool, 2*time.Millisecond, slog.New(slog.DiscardHandler)).Run(sealCtx) })
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			tenant := b.tenant
			if w%4 == 0 {
				tenant = b.other
			}
			for i := range each {
				key := fmt.Sprintf("%d-%d", w, i)
				commit := (w+i)%3 != 0
				// Not a numeric user id: the event stays in clear, for the
				// check below to read its key (subject_test.go covers sealing).
				e := audit.Event{TenantID: tenant, Actor: audit.UserActor(fmt.Sprint("w", w)), Action: "case.comment", After: map[string]any{"key": key}}
				err := func() error {
					tx, err := b.pool.Begin(ctx)
					if err != nil {
						return err
					}
					defer func() { _ = tx.Rollback(ctx) }()
					if err := audit.Record(ctx, tx, e); err != nil {
						return err
					}
					// Hold the transaction open for a while after the id is
					// taken, so later ids commit first.
					if _, err := tx.Exec(ctx, `SELECT pg_sleep($1)`, rand.Float64()*0.004); err != nil {
						return err
					}
					if !commit {
						return tx.Rollback(ctx)
					}
					return tx.Commit(ctx)
				}()
				results <- outcome{tenant: tenant, key: key, committed: commit, err: err}
			}
		})
	}
	wg.Wait()
	stopSealers()
	sealers.Wait()
	close(results)

	want := map[int64]map[string]bool{b.tenant: {}, b.other: {}}
	total := 0
	for r := range results {
		require.NoError(t, r.err)
		if r.committed {
			want[r.tenant][r.key] = true
			total++
		}
	}
	rep := requireClean(t, b.pool, "")
	require.EqualValues(t, total, rep.Events)
	require.Zero(t, rep.Unsealed)

	outOfIDOrder := 0
	for tenant, keys := range want {
		rows, err := b.pool.Query(ctx, `SELECT after->>'key', seq, id < max(id) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
			FROM audit_event WHERE tenant_id = $1 ORDER BY seq`, tenant)
		require.NoError(t, err)
		got := map[string]bool{}
		next := int64(1)
		for rows.Next() {
			var key string
			var seq *int64
			var early *bool
			require.NoError(t, rows.Scan(&key, &seq, &early))
			require.NotNil(t, seq, "event %s is not sealed", key)
			require.Equal(t, next, *seq, "seqs are 1..n with no gap or duplicate")
			require.False(t, got[key], "event %s appears twice", key)
			got[key] = true
			next++
			if early != nil && *early {
				outOfIDOrder++
			}
		}
		require.NoError(t, rows.Err())
		require.Equal(t, keys, got, "exactly the committed events, each once")
	}
	t.Logf("%d events committed; %d sealed after an event with a higher id", total, outOfIDOrder)
}

// TestEarlierIDCommittedLaterIsSealedLater: an event whose transaction
// commits after a later id was sealed is neither skipped nor put before
// it: it takes the next seq.
func TestEarlierIDCommittedLaterIsSealedLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	slow, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = slow.Rollback(ctx) }()
	early, err := audit.Append(ctx, slow, event(b.tenant, "case.create"))
	require.NoError(t, err)
	late, err := audit.Append(ctx, b.pool, event(b.tenant, "case.update"))
	require.NoError(t, err)
	require.Less(t, early.ID, late.ID)

	n, err := audit.Seal(ctx, b.pool)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the uncommitted event is not sealed")
	seq, _ := chainOf(t, b.pool, late.ID)
	require.EqualValues(t, 1, seq)

	require.NoError(t, slow.Commit(ctx))
	n, err = audit.Seal(ctx, b.pool)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	seq, _ = chainOf(t, b.pool, early.ID)
	require.EqualValues(t, 2, seq, "sealed after the later id, in the order it became visible")
	rep := requireClean(t, b.pool, "default")
	require.EqualValues(t, 2, rep.Chains[0].HeadSeq)
}

// TestWritersDoNotWaitForEachOther: an auditing transaction left open does
// not hold up another tenant writer's audit (the old chain trigger locked
// the tenant's head until commit, queueing every writer behind it).
func TestWritersDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	open, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = open.Rollback(ctx) }()
	require.NoError(t, audit.Record(ctx, open, event(b.tenant, "case.create")))

	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, pgx.BeginFunc(quick, b.pool, func(tx pgx.Tx) error {
		return audit.Record(quick, tx, event(b.tenant, "case.update"))
	}), "a second writer commits while the first is still open")
	require.NoError(t, open.Commit(ctx))
	requireClean(t, b.pool, "")
}

// TestVerifyReportsTheUnsealedTail: unsealed events are counted, not
// failed, until they have waited longer than MaxUnsealedAge.
func TestVerifyReportsTheUnsealedTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	seed(t, b, 2)
	var ids []int64
	for range 3 {
		a, err := audit.Append(ctx, b.pool, event(b.tenant, "case.update"))
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	rep, err := audit.Verify(ctx, b.pool, "default")
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	require.EqualValues(t, 2, rep.Events)
	require.EqualValues(t, 3, rep.Unsealed)
	require.EqualValues(t, 3, rep.Chains[0].Unsealed)
	require.Less(t, rep.Chains[0].OldestUnsealed, audit.MaxUnsealedAge)

	tamper(t, b.pool, `UPDATE audit_event SET recorded_at = now() - interval '2 minutes' WHERE id = $1`, ids[0])
	p := onlyProblem(t, b.pool)
	require.Equal(t, audit.StaleUnsealed, p.Kind)
	require.Contains(t, p.String(), "tenant default: unsealed too long: 3 committed event(s) not sealed, the oldest for 2m0s")

	rep = requireClean(t, b.pool, "")
	require.EqualValues(t, 5, rep.Events)
	require.Zero(t, rep.Unsealed)
}

// TestSealingChangesOnlyTheChainFields: the append-only rule lets the
// chain fields of an unsealed event be set once, whole, and nothing else.
func TestSealingChangesOnlyTheChainFields(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	sealed := seed(t, b, 1)[0]
	e := event(b.tenant, "case.update")
	e.After = map[string]any{"n": 1.0}
	unsealed, err := audit.Append(ctx, b.pool, e)
	require.NoError(t, err)
	for stmt, want := range map[string]string{
		`UPDATE audit_event SET seq = 9, hash_version = 1, prev_hash = sha256(''), hash = sha256(''), actor = 'x' WHERE id = $1`:           "append-only",
		`UPDATE audit_event SET seq = 9, hash_version = 1, prev_hash = sha256(''), hash = sha256(''), recorded_at = now() WHERE id = $1`:   "append-only",
		`UPDATE audit_event SET seq = 9, hash_version = 1, prev_hash = sha256(''), hash = sha256(''), after = '{"n": 1.00}' WHERE id = $1`: "append-only",
		`UPDATE audit_event SET seq = 9 WHERE id = $1`: "append-only", // outside the sealer at all
		`DELETE FROM audit_event WHERE id = $1`:        "append-only",
	} {
		_, err := b.pool.Exec(ctx, stmt, unsealed.ID)
		require.ErrorContains(t, err, want, stmt)
	}
	for _, stmt := range []string{
		`UPDATE audit_event SET seq = 9, hash = sha256('') WHERE id = $1`,
		`UPDATE audit_event SET seq = NULL, hash_version = NULL, prev_hash = NULL, hash = NULL WHERE id = $1`,
	} {
		_, err := b.pool.Exec(ctx, stmt, sealed.ID)
		require.ErrorContains(t, err, "append-only", stmt)
	}
	requireClean(t, b.pool, "")
}

// TestSealerRuns: a running Sealer seals what commits, without being asked.
func TestSealerRuns(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := setup(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		audit.NewSealer(b.pool, 10*time.Millisecond, slog.New(slog.DiscardHandler)).Run(ctx)
	}()
	require.NoError(t, b.log.Record(ctx, event(b.tenant, "case.create")))
	require.NoError(t, b.log.Record(ctx, event(b.other, "case.create")))
	require.Eventually(t, func() bool { return count(t, b.pool, "seq IS NULL") == 0 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 2, count(t, b.pool, "seq = 1"))
	cancel()
	<-done
}

// TestOnlyTheSealerSetsChainFields: even the owner role cannot insert an
// event with chain fields or set them on an unsealed event outside the
// sealer, so nothing claims a place in the chain its head does not know.
func TestOnlyTheSealerSetsChainFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `INSERT INTO audit_event (tenant_id, actor, actor_kind, action, seq, hash_version, prev_hash, hash)
		VALUES ($1, 'x', 'user', 'auth.login', 1, 1, sha256(''), sha256(''))`, b.tenant)
	require.ErrorContains(t, err, "sealer only")
	_, err = audit.Append(ctx, b.pool, event(b.tenant, "case.update")) // unsealed until sealed below
	require.NoError(t, err)
	tag, err := b.pool.Exec(ctx, `UPDATE audit_event SET seq = 99, hash_version = 1, prev_hash = sha256(''), hash = sha256('') WHERE seq IS NULL`)
	require.ErrorContains(t, err, "append-only", "updated %s", tag)
	_, err = b.pool.Exec(ctx, `SELECT audit_seal(100)`)
	require.NoError(t, err)
	requireClean(t, b.pool, "")
}

// TestChainSealedInSQLContinuesInGo: events sealed by migration 080's SQL
// sealer (audit_seal) and then by the Go sealer form one chain that
// verifies, and the Go sealer continues from the SQL one's head.
func TestChainSealedInSQLContinuesInGo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for range 3 {
		require.NoError(t, b.log.Record(ctx, event(b.tenant, "case.create")))
	}
	var n int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT audit_seal(100)`).Scan(&n))
	require.EqualValues(t, 3, n, "sealed in SQL")
	later, err := audit.Append(ctx, b.pool, event(b.tenant, "case.update"))
	require.NoError(t, err)
	n, err = audit.Seal(ctx, b.pool)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "sealed in Go")
	seq, _ := chainOf(t, b.pool, later.ID)
	require.EqualValues(t, 4, seq)
	rep := requireClean(t, b.pool, "default")
	require.EqualValues(t, 4, rep.Events)
	require.EqualValues(t, 4, rep.Chains[0].HeadSeq)
}

// TestSealLinkRefusesWhatIsNotTheNextUnsealed: audit_seal_link sets chain
// fields only on unsealed events of its tenant, after the head's own seq,
// and changes nothing when any of a batch is wrong.
func TestSealLinkRefusesWhatIsNotTheNextUnsealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	sealed := seed(t, b, 1)[0]
	mine, err := audit.Append(ctx, b.pool, event(b.tenant, "case.update"))
	require.NoError(t, err)
	theirs, err := audit.Append(ctx, b.pool, event(b.other, "case.update"))
	require.NoError(t, err)
	h := make([]byte, 32)
	link := func(tenant, after int64, ids ...int64) error {
		hashes := make([][]byte, len(ids))
		for i := range hashes {
			hashes[i] = h
		}
		_, err := b.pool.Exec(ctx, `SELECT audit_seal_link($1, $2, $3, $4)`, tenant, after, ids, hashes)
		return err
	}
	require.ErrorContains(t, link(b.tenant, 0, mine.ID), "is not at seq 0", "the head is at 1")
	require.ErrorContains(t, link(b.tenant, 1, mine.ID, theirs.ID), "is not an unsealed event of tenant", "another tenant's event")
	require.ErrorContains(t, link(b.tenant, 1, mine.ID, sealed.ID), "is not an unsealed event of tenant", "an event already sealed")
	require.ErrorContains(t, link(b.tenant, 1, mine.ID, mine.ID), "is not an unsealed event of tenant", "the same event twice")
	require.ErrorContains(t, link(b.tenant, 1), "0 event ids")
	require.Equal(t, 2, count(t, b.pool, "seq IS NULL"), "nothing was linked")
	requireClean(t, b.pool, "")
}
