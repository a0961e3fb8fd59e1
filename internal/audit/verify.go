package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store"
)

// ErrUnknownTenant means Verify was asked for a tenant that does not exist.
var ErrUnknownTenant = errors.New("audit: no such tenant")

// ProblemKind classifies what verification found wrong.
type ProblemKind string

// The problems Verify reports.
const (
	// HashMismatch: the row's content no longer produces its stored hash:
	// a field was edited.
	HashMismatch ProblemKind = "hash mismatch"
	// PrevHashMismatch: the row does not link to the row before it: a row
	// was replaced, inserted, or edited together with its hash.
	PrevHashMismatch ProblemKind = "prev_hash mismatch"
	// Gap: sequence numbers are missing before this row: rows were deleted.
	Gap ProblemKind = "gap"
	// HeadMismatch: the chain head disagrees with the last row: rows were
	// deleted from the end, or the head was edited.
	HeadMismatch ProblemKind = "head mismatch"
	// UnknownVersion: the row names a hash encoding this binary lacks.
	UnknownVersion ProblemKind = "unknown hash version"
	// StaleUnsealed: committed events have waited longer than
	// MaxUnsealedAge to be sealed: no process is sealing (none runs, or
	// sealing fails), and those events are not tamper-evident yet.
	StaleUnsealed ProblemKind = "unsealed too long"
)

// MaxUnsealedAge is how long a committed event may wait for the sealer
// before Verify reports it. Sealers look every DefaultSealInterval, so a
// healthy log never comes near it.
const MaxUnsealedAge = time.Minute

// Problem is one broken link, naming the row it was found at.
type Problem struct {
	Tenant     string // slug
	ID         int64  // 0 when the tenant has no rows left at all
	Seq        int64
	OccurredAt time.Time
	Action     string
	Kind       ProblemKind
	Detail     string
}

func (p Problem) String() string {
	if p.ID == 0 {
		return fmt.Sprintf("tenant %s: %s: %s", p.Tenant, p.Kind, p.Detail)
	}
	return fmt.Sprintf("tenant %s: event id %d (seq %d, %s, %s): %s: %s",
		p.Tenant, p.ID, p.Seq, p.OccurredAt.UTC().Format(time.RFC3339Nano), p.Action, p.Kind, p.Detail)
}

// TenantChain summarises one verified tenant chain.
type TenantChain struct {
	Tenant   string
	Events   int64 // sealed events, all verified
	HeadSeq  int64
	HeadHash []byte // hex-print and keep it elsewhere to anchor the chain
	// Unsealed counts the committed events not sealed yet (not verified:
	// they have no hash), and OldestUnsealed is how long the oldest of
	// them has waited.
	Unsealed       int64
	OldestUnsealed time.Duration
}

// Report is the outcome of Verify. The log is intact when Problems is
// empty.
type Report struct {
	Events   int64 // sealed events verified
	Unsealed int64 // committed events awaiting the sealer
	Chains   []TenantChain
	Problems []Problem
}

// Beginner starts transactions: a *pgxpool.Pool or *pgx.Conn.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// verifyPage bounds the rows held in memory at once.
const verifyPage = 1000

// Verify recomputes the sealed hash chain of one tenant (by slug), or of
// every tenant when slug is empty, from one consistent snapshot, and
// reports the unsealed tail: events waiting longer than MaxUnsealedAge
// are a problem. It returns an error only when it could not check; what
// it found is in the Report.
func Verify(ctx context.Context, db Beginner, slug string) (Report, error) {
	var rep Report
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	tenants, err := store.AuditTenants(ctx, tx)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: listing tenants: %w", err)
	}
	found := false
	for _, t := range tenants {
		if slug != "" && t.Slug != slug {
			continue
		}
		found = true
		chain, problems, err := verifyTenant(ctx, tx, t.ID, t.Slug)
		if err != nil {
			return rep, err
		}
		rep.Events += chain.Events
		rep.Unsealed += chain.Unsealed
		rep.Chains = append(rep.Chains, chain)
		rep.Problems = append(rep.Problems, problems...)
	}
	if slug != "" && !found {
		return rep, fmt.Errorf("%w: %q", ErrUnknownTenant, slug)
	}
	return rep, nil
}

func verifyTenant(ctx context.Context, tx pgx.Tx, tenantID int64, slug string) (TenantChain, []Problem, error) {
	chain := TenantChain{Tenant: slug}
	var problems []Problem
	at := func(r store.AuditChainPageRow, kind ProblemKind, format string, args ...any) {
		problems = append(problems, Problem{
			Tenant: slug, ID: r.ID, Seq: r.Seq, OccurredAt: r.OccurredAt.Time, Action: r.Action,
			Kind: kind, Detail: fmt.Sprintf(format, args...),
		})
	}

	prevHash := make([]byte, 32)
	var last *store.AuditChainPageRow
	for {
		afterSeq := int64(0)
		if last != nil {
			afterSeq = last.Seq
		}
		rows, err := store.AuditChainPage(ctx, tx, store.AuditChainPageParams{TenantID: tenantID, AfterSeq: afterSeq, MaxRows: verifyPage})
		if err != nil {
			return chain, nil, fmt.Errorf("audit: verify: reading tenant %s: %w", slug, err)
		}
		for i := range rows {
			r := rows[i]
			chain.Events++
			switch {
			case last == nil && r.Seq != 1:
				at(r, Gap, "%s before it (deleted?)", missing(1, r.Seq-1))
			case last != nil && r.Seq != last.Seq+1:
				at(r, Gap, "%s between event id %d and it (deleted?)", missing(last.Seq+1, r.Seq-1), last.ID)
			case !bytes.Equal(r.PrevHash, prevHash):
				if last == nil {
					at(r, PrevHashMismatch, "the first event's prev_hash is %x, not zero", r.PrevHash)
				} else {
					at(r, PrevHashMismatch, "prev_hash %x does not match the hash %x of event id %d", r.PrevHash, prevHash, last.ID)
				}
			}
			if r.HashVersion.Int16 != 1 {
				at(r, UnknownVersion, "hash_version %d", r.HashVersion.Int16)
			} else if got := hashV1(rowContent(tenantID, r)); !bytes.Equal(got, r.Hash) {
				at(r, HashMismatch, "stored hash %x, content hashes to %x: the row was edited", r.Hash, got)
			}
			prevHash = r.Hash
			last = &rows[i]
		}
		if len(rows) < verifyPage {
			break
		}
	}

	tail, err := store.AuditUnsealed(ctx, tx, tenantID)
	if err != nil {
		return chain, nil, fmt.Errorf("audit: verify: counting the unsealed events of tenant %s: %w", slug, err)
	}
	chain.Unsealed, chain.OldestUnsealed = tail.Events, time.Duration(tail.OldestAgeS*float64(time.Second))
	if chain.OldestUnsealed > MaxUnsealedAge {
		problems = append(problems, Problem{Tenant: slug, Kind: StaleUnsealed,
			Detail: fmt.Sprintf("%d committed event(s) not sealed, the oldest for %s (over %s): is any Portico process running and sealing?",
				tail.Events, chain.OldestUnsealed.Round(time.Second), MaxUnsealedAge)})
	}

	head, err := store.AuditChainHeadGet(ctx, tx, tenantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if last != nil {
			at(*last, HeadMismatch, "the tenant has events but no chain head")
		}
		return chain, problems, nil
	case err != nil:
		return chain, nil, fmt.Errorf("audit: verify: reading the head of tenant %s: %w", slug, err)
	}
	chain.HeadSeq, chain.HeadHash = head.LastSeq, head.LastHash
	switch {
	case last == nil && head.LastSeq > 0:
		problems = append(problems, Problem{Tenant: slug, Kind: HeadMismatch,
			Detail: fmt.Sprintf("the chain head is at seq %d but no events remain (deleted?)", head.LastSeq)})
	case last == nil:
	case head.LastSeq > last.Seq:
		at(*last, Gap, "%s after it, the last event left (deleted from the end?)", missing(last.Seq+1, head.LastSeq))
	case head.LastSeq != last.Seq || !bytes.Equal(head.LastHash, last.Hash):
		at(*last, HeadMismatch, "the chain head (seq %d, hash %x) does not match the last event", head.LastSeq, head.LastHash)
	}
	return chain, problems, nil
}

func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("event seq %d is missing", from)
	}
	return fmt.Sprintf("events seq %d..%d are missing", from, to)
}

func rowContent(tenantID int64, r store.AuditChainPageRow) chainRow {
	return chainRow{
		TenantID: tenantID, Seq: r.Seq, OccurredAt: r.OccurredAt.Time,
		Actor: r.Actor, ActorKind: r.ActorKind, AccountID: textPtr(r.AccountID),
		IP: r.Ip, UserAgent: textPtr(r.UserAgent), Action: r.Action,
		Object: textPtr(r.Object), ObjectID: textPtr(r.ObjectID),
		Before: r.Before, After: r.After, RequestID: textPtr(r.RequestID),
		PrevHash: r.PrevHash,
	}
}

func textPtr(t pgtype.Text) *string {
	if !t.Valid {
		return nil
	}
	return &t.String
}
