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
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	if s.Staff {
		return nil
	}
	args, err := s.settings()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, applySQL, args...); err != nil {
		return fmt.Errorf("access: applying scope: %w", err)
	}
	return nil
}

const applySQL = `SELECT set_config('role', 'portico_api', true),
		set_config('portico.tenant_id', $1, true),
		set_config('portico.account_ids', $2, true),
		set_config('portico.public_objects', $3, true)`

func (s Scope) settings() ([]any, error) {
	for _, a := range s.Accounts {
		if strings.Contains(a, ",") {
			return nil, fmt.Errorf("access: account id %q contains a comma", a)
		}
	}
	return []any{strconv.FormatInt(s.TenantID, 10), strings.Join(s.Accounts, ","), strings.Join(s.PublicObjects, ",")}, nil
}

// Read runs one read-only query under the scope in a single round trip:
// the settings and the query go in one pipeline, which PostgreSQL runs as
// one implicit transaction, so the settings hold for the query and end
// with it, exactly as in Tx. scan reads the rows.
func Read(ctx context.Context, pool *pgxpool.Pool, s Scope, sql string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	if !s.Staff {
		settings, err := s.settings()
		if err != nil {
			return err
		}
		b.Queue(applySQL, settings...)
	}
	b.Queue(sql, args...)
	br := pool.SendBatch(ctx, b)
	if !s.Staff {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return fmt.Errorf("access: applying scope: %w", err)
		}
	}
	rows, err := br.Query()
	if err == nil {
		err = scan(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}
