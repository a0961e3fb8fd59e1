// Package app wires Portico's parts into the running processes: it opens
// the database, refuses to start on an unmigrated one, builds the River
// client and the HTTP router, and runs the API server, the workers, or
// both until the context ends. It is the only package that knows every
// subsystem; the subsystems do not know each other through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/server"
)

// Mode selects what a process runs.
type Mode struct {
	Serve bool // the HTTP API
	Work  bool // the River workers
}

// ErrNoDatabase means no database URL is configured.
var ErrNoDatabase = &config.Error{Key: "database_url", Msg: "is required: set PORTICO_DATABASE_URL or --database-url, or run `portico dev` for a private database"}

// App is one Portico process.
type App struct {
	cfg      *config.Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	registry *prometheus.Registry
	jobs     *jobs.Registry
	river    *river.Client[pgx.Tx]
	mode     Mode
}

// Open connects to the database and checks that its migrations are
// current. The caller must Close the App.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, mode Mode) (*App, error) {
	if cfg.DatabaseURL == "" {
		return nil, ErrNoDatabase
	}
	pool, err := OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := migrate.Check(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	a := &App{
		cfg:      cfg,
		logger:   logger,
		pool:     pool,
		registry: metrics.NewRegistry(),
		jobs:     jobs.NewRegistry(),
		mode:     mode,
	}
	a.registry.MustRegister(metrics.NewRiverJobs(pool, logger))

	clientMode := jobs.InsertOnly
	if mode.Work {
		clientMode = jobs.Work
	}
	if a.river, err = jobs.NewClient(pool, cfg.River, a.jobs, clientMode, logger); err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// OpenPool opens a pgx pool and checks the server answers.
func OpenPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &config.Error{Key: "database_url", Msg: "cannot parse: " + err.Error()}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("app: cannot reach the database at %s: %w", pcfg.ConnConfig.Host, err)
	}
	return pool, nil
}

// Pool is the database pool.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// River is the River client.
func (a *App) River() *river.Client[pgx.Tx] { return a.river }

// Close releases the pool.
func (a *App) Close() { a.pool.Close() }

// Ready reports whether this process can serve: the database answers and
// its migrations are current.
func (a *App) Ready(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return migrate.Check(ctx, a.pool)
}

// Handler builds the HTTP handler.
func (a *App) Handler(ctx context.Context) (http.Handler, error) {
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(a.river, nil),
		Logger:    a.logger.With(slog.String("component", "riverui")),
		Prefix:    "/admin/riverui",
	})
	if err != nil {
		return nil, fmt.Errorf("app: river ui: %w", err)
	}
	if err := ui.Start(ctx); err != nil {
		return nil, fmt.Errorf("app: river ui: %w", err)
	}
	return server.NewRouter(server.Options{
		Config:     a.cfg.HTTP,
		Logger:     a.logger,
		Registry:   a.registry,
		Ready:      a.Ready,
		AdminToken: a.cfg.Admin.Token,
		RiverUI:    ui,
	}), nil
}

// Run runs the selected parts until ctx ends, then stops them: the HTTP
// server drains, River stops softly and, after river.soft_stop_timeout,
// cancels the jobs still running. onListen receives the API address.
func (a *App) Run(ctx context.Context, onListen func(addr string)) error {
	if a.cfg.Admin.Token == "" && a.mode.Serve {
		a.logger.WarnContext(ctx, "admin.token is not set: /admin answers 401 to everyone")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)

	if a.mode.Work {
		if err := a.river.Start(ctx); err != nil {
			return fmt.Errorf("app: starting workers: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			errs[0] = a.stopRiver()
		}()
	}
	if a.mode.Serve {
		h, err := a.Handler(ctx)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[1] = server.Serve(ctx, a.cfg.HTTP, h, a.logger, onListen)
			cancel() // a server that fails takes the process down with it
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *App) stopRiver() error {
	softCtx, cancel := context.WithTimeout(context.Background(), a.cfg.River.SoftStopTimeout)
	defer cancel()
	err := a.river.Stop(softCtx)
	if err == nil {
		return nil
	}
	a.logger.Warn("workers did not stop in time; cancelling running jobs", slog.Duration("soft_stop_timeout", a.cfg.River.SoftStopTimeout))
	hardCtx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	return a.river.StopAndCancel(hardCtx)
}
