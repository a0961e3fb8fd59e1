package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

// Policy decides what a principal may see: its own account, the account's
// descendants when the user may see child accounts, everything for staff.
// Handlers ask it for a Scope and narrow that per object; they never
// build account filters of their own.
type Policy struct {
	pool *pgxpool.Pool
	// maxAccounts bounds a hierarchy so that a cycle or a giant tree cannot
	// turn one request into an unbounded query.
	maxAccounts int32
}

// NewPolicy returns the policy over the cache in pool.
func NewPolicy(pool *pgxpool.Pool) *Policy {
	return &Policy{pool: pool, maxAccounts: 10000}
}

// Scope returns what p may see. The user's own account is always first
// in Accounts, which Narrow relies on.
func (pl *Policy) Scope(ctx context.Context, p *auth.Principal) (Scope, error) {
	if p == nil {
		return Scope{}, fmt.Errorf("access: no principal")
	}
	s := Scope{TenantID: p.TenantID, Contact: p.ContactID, Roles: slices.Clone(p.Roles), Staff: p.Staff}
	if p.Staff {
		return s, nil
	}
	if p.AccountID == "" {
		// A customer without an account sees nothing; an empty list, not
		// a nil one that might read as "no filter".
		s.Accounts = []string{}
		return s, nil
	}
	s.Accounts = []string{p.AccountID}
	if !p.SeeChildAccounts {
		return s, nil
	}
	// It runs as the connecting role: the hierarchy decides the scope, so
	// it cannot be filtered by it.
	ids, err := store.RecordAccountDescendants(ctx, pl.pool, store.RecordAccountDescendantsParams{
		TenantID: p.TenantID, AccountID: p.AccountID, MaxRows: pl.maxAccounts,
	})
	if err != nil {
		return Scope{}, fmt.Errorf("access: account hierarchy: %w", err)
	}
	for _, id := range ids {
		if id != p.AccountID {
			s.Accounts = append(s.Accounts, id)
		}
	}
	return s, nil
}

// Narrow returns the scope for one object: an object whose mapping does
// not follow the hierarchy is seen for the user's own account only.
func (s Scope) Narrow(hierarchy bool) Scope {
	if s.Staff || hierarchy || len(s.Accounts) <= 1 {
		return s
	}
	s.Accounts = s.Accounts[:1:1]
	return s
}

// For returns the scope for one portal object, and false when the
// scope's roles may not see the object at all (callers answer 404 or an
// empty list, as for a foreign record).
func (s Scope) For(obj *mapping.Object) (Scope, bool) {
	if !s.Staff && !obj.VisibleTo(s.Roles) {
		return Scope{}, false
	}
	s = s.Narrow(obj.Hierarchy())
	if obj.Public() {
		s.PublicObjects = []string{obj.Name()}
	}
	return s, true
}
