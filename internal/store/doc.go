// Package store is Portico's storage boundary over PostgreSQL: the sqlc
// queries compiled from queries/*.sql into dbsqlc, and the translation of
// driver errors into this package's errors (pgx.ErrNoRows becomes
// ErrNotFound). Each query method takes the db or tx it runs on, so a
// query can share a transaction with a River job insert.
package store
