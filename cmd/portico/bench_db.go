package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgcluster"
)

// benchDatabase gives a benchmark a migrated database of its own: a fresh
// database on the configured server, or a private cluster when none is
// configured. close drops or stops what it made.
func (c *cli) benchDatabase(cmd *cobra.Command) (pool *pgxpool.Pool, url string, close func(), err error) {
	ctx := cmd.Context()
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, "", nil, err
	}
	var cleanups []func()
	closeAll := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	adminURL := cfg.DatabaseURL
	if adminURL == "" {
		dir, err := os.MkdirTemp("", "portico-bench-")
		if err != nil {
			return nil, "", nil, err
		}
		_ = os.Chmod(dir, 0o755)
		cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
		fmt.Fprintln(c.stderr, "no database configured: starting a private PostgreSQL for the benchmark")
		cluster, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
		if err != nil {
			closeAll()
			return nil, "", nil, err
		}
		cleanups = append(cleanups, func() { _ = cluster.Stop() })
		adminURL = cluster.URL("postgres")
	}
	c.benchAdminURL = adminURL
	name := fmt.Sprintf("portico_bench_%d_%d", os.Getpid(), rand.Uint32())
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		closeAll()
		return nil, "", nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		closeAll()
		return nil, "", nil, fmt.Errorf("bench: %w", err)
	}
	cleanups = append(cleanups, func() {
		conn, err := pgx.Connect(context.Background(), adminURL)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = conn.Close(context.Background())
		}
	})
	u, err := pgx.ParseConfig(adminURL)
	if err != nil {
		closeAll()
		return nil, "", nil, err
	}
	url = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", u.User, u.Host, u.Port, name)
	if u.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", u.User, u.Password, u.Host, u.Port, name)
	}
	pool, err = app.OpenPool(ctx, url)
	if err != nil {
		closeAll()
		return nil, "", nil, err
	}
	cleanups = append(cleanups, pool.Close)
	if _, err := migrate.Up(ctx, pool, c.logger(cfg)); err != nil {
		closeAll()
		return nil, "", nil, err
	}
	return pool, url, closeAll, nil
}

// benchExtraDatabase makes another migrated database on the benchmark's
// server (call benchDatabase first), for a stack that must not share state.
func (c *cli) benchExtraDatabase(ctx context.Context, suffix string) (string, func(), error) {
	name := fmt.Sprintf("portico_bench_%d_%d_%s", os.Getpid(), rand.Uint32(), suffix)
	admin, err := pgx.Connect(ctx, c.benchAdminURL)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	drop := func() {
		conn, err := pgx.Connect(context.Background(), c.benchAdminURL)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = conn.Close(context.Background())
		}
	}
	u, err := pgx.ParseConfig(c.benchAdminURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", u.User, u.Host, u.Port, name)
	pool, err := app.OpenPool(ctx, url)
	if err != nil {
		drop()
		return "", nil, err
	}
	defer pool.Close()
	if _, err := migrate.Up(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		drop()
		return "", nil, err
	}
	return url, drop, nil
}
