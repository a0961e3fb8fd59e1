// Package access holds the per-request access scope and runs database work
// under it. Every read and write of customer data goes through Tx, which
// switches the transaction to the portico_api role and sets the tenant and
// the visible account ids, so Postgres row-level security enforces the
// same scope as the queries' own filters: a second wall under the policy.
// The policy that decides a user's scope (roles, hierarchy) lives here too
// once the portal API exists; handlers never build their own filters.
package access

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/store"
)

// Scope is what one request may see.
type Scope struct {
	TenantID int64
	// Accounts are the portal account ids whose records are visible: the
	// user's account, plus its descendants where the user may see them.
	Accounts []string
	// Contact is the user's own contact id, for contact-owned records.
	Contact string
	// Roles are the user's roles within the account.
	Roles []string
	// Staff scopes see every account of the tenant (operator_admin).
	Staff bool
	// PublicObjects are portal objects with no owner (knowledge articles)
	// the transaction may read.
	PublicObjects []string
}

// Sees reports whether the scope covers an account.
func (s Scope) Sees(account string) bool {
	if s.Staff {
		return true
	}
	for _, a := range s.Accounts {
		if a == account {
			return true
		}
	}
	return false
}

// Tx runs fn in a transaction as portico_api with the scope's settings.
// Staff scopes run as the connecting role: RLS does not narrow them.
func Tx(ctx context.Context, pool *pgxpool.Pool, s Scope, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := Apply(ctx, tx, s); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Apply sets the scope on a transaction that is already open.
func Apply(ctx context.Context, tx pgx.Tx, s Scope) error {
	if err := store.ApplyScope(ctx, tx, s.Store()); err != nil {
		return fmt.Errorf("access: %w", err)
	}
	return nil
}

// Store returns the settings row-level security enforces for s, for the
// store's scoped reads.
func (s Scope) Store() store.Scope {
	return store.Scope{TenantID: s.TenantID, Accounts: s.Accounts, PublicObjects: s.PublicObjects, Staff: s.Staff}
}
