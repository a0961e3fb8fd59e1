package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The statements in this file name a database or a channel, which SQL
// takes only as an identifier, never as a parameter, so sqlc cannot
// express them; the identifier is quoted here.

// DatabaseCreate creates the database name, as a copy of template unless
// template is empty. It runs outside a transaction.
func DatabaseCreate(ctx context.Context, db DBTX, name, template string) error {
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		q += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	_, err := db.Exec(ctx, q)
	return interpret(err, "creating database "+name)
}

// DatabaseDrop drops the database name if it exists, ending its sessions.
func DatabaseDrop(ctx context.Context, db DBTX, name string) error {
	_, err := db.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return interpret(err, "dropping database "+name)
}

// DatabaseExists says whether the database name exists. It is written by
// hand because sqlc's catalog has no pg_database.
func DatabaseExists(ctx context.Context, db DBTX, name string) (bool, error) {
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
	return ok, interpret(err, "looking up database "+name)
}

// Listen subscribes the session to channel's notifications.
func Listen(ctx context.Context, db DBTX, channel string) error {
	_, err := db.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	return interpret(err, "listening on "+channel)
}

// The migrator's bookkeeping table is created by the migrator itself
// (migrations cannot record themselves before it exists), so sqlc's schema
// (the migrations) does not know it, and a migration's own text is SQL
// only the migration knows: these functions are written by hand.

// MigrationTableEnsure creates the bookkeeping table when it is missing.
func MigrationTableEnsure(ctx context.Context, db DBTX) error {
	_, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS portico_migration (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	return interpret(err, "creating portico_migration")
}

// MigrationApply runs one migration's script and records it, in tx.
func MigrationApply(ctx context.Context, tx pgx.Tx, version int, name, script string) error {
	if _, err := tx.Exec(ctx, script); err != nil {
		return interpretError(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO portico_migration (version, name) VALUES ($1, $2)`, version, name)
	return interpretError(err)
}

// MigrationVersions returns when each recorded migration was applied;
// none when the bookkeeping table does not exist yet.
func MigrationVersions(ctx context.Context, db DBTX) (map[int]time.Time, error) {
	rows, err := db.Query(ctx, `SELECT version, applied_at FROM portico_migration`)
	if err != nil {
		if SQLState(err) == "42P01" { // undefined_table
			return map[int]time.Time{}, nil
		}
		return nil, interpret(err, "reading portico_migration")
	}
	out := map[int]time.Time{}
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, interpret(err, "reading portico_migration")
		}
		out[v] = at
	}
	return out, interpret(rows.Err(), "reading portico_migration")
}
