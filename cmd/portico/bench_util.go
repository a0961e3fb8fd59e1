package main

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return pollFor(ctx, timeout, 5*time.Millisecond, cond)
}

// pollFor is waitFor checking every interval: for a condition that costs
// the system under measurement something to check.
func pollFor(ctx context.Context, timeout, every time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("condition not met within " + timeout.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}

func cachedCases(ctx context.Context, pool *pgxpool.Pool) int {
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE source_object = 'Case' AND deleted_at IS NULL`).Scan(&n)
	return n
}
