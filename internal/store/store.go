package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/porticohq/portico/internal/store/dbsqlc"
)

//go:generate go run ./internal/genqueries

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique constraint rejects a row.
var ErrConflict = errors.New("store: already exists")

// ErrForeignKey is returned when a row names a parent that does not exist.
var ErrForeignKey = errors.New("store: missing referenced row")

// TenantCreate adds a tenant.
func TenantCreate(ctx context.Context, db DBTX, slug, name string) (Tenant, error) {
	t, err := dbsqlc.New().TenantCreate(ctx, db, dbsqlc.TenantCreateParams{Slug: slug, Name: name})
	return t, interpretError(err)
}

// interpretError translates driver errors into this package's errors, as
// River's riverpgxv5 does, so no caller compares pgx errors. The original
// stays wrapped, so the constraint name remains in the message.
func interpretError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.As(err, &pgErr) && pgErr.Code == "23503":
		return fmt.Errorf("%w: %w", ErrForeignKey, err)
	}
	return err
}

// interpret is interpretError with what the caller was doing.
func interpret(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", what, interpretError(err))
}

// IsDeadlock says whether PostgreSQL aborted err's transaction to break a
// deadlock, so the caller may redo it. It reads any error, not only one a
// store function returned, since the victim may be a commit.
func IsDeadlock(err error) bool { return SQLState(err) == "40P01" }

// RetryDeadlock runs f, a whole transaction, up to three times while
// PostgreSQL breaks a deadlock by aborting it. Callers whose transactions
// may take the same locks in different orders (a sync page and a
// write-back; two notification dispatchers whose batches share users)
// redo the victim instead of failing it.
func RetryDeadlock(f func() error) error {
	var err error
	for range 3 {
		if err = f(); !IsDeadlock(err) {
			return err
		}
	}
	return err
}

// SQLState is the SQLSTATE of the PostgreSQL error in err, or "" if there
// is none. It serves code that runs DDL rather than queries (migrate,
// dbtest), so that it too leaves the driver's error types to store.
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
