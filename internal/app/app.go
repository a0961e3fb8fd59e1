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
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/hooks"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/web"
	"github.com/porticohq/portico/internal/writeback"
)

// Mode selects what a process runs.
type Mode struct {
	Serve bool // the HTTP API
	Work  bool // the River workers
}

// ErrNoDatabase means no database URL is configured.
var ErrNoDatabase = &config.Error{Key: "database_url", Msg: "is required: set PORTICO_DATABASE_URL or --database-url, or run `portico dev` for a private database"}

// Deps are what the binary's wiring hands the app: the connector
// registry (built explicitly in cmd/portico) and the compiled mappings.
type Deps struct {
	Connectors *sources.Registry
	Mappings   *mapping.Set
	// DevMail is set by `portico dev`: without mail.smtp_url, mail is
	// printed to the log, marked as dev mail, instead of not being sent.
	DevMail bool
}

// App is one Portico process.
type App struct {
	cfg      *config.Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	registry *prometheus.Registry
	jobs     *jobs.Registry
	river    *river.Client[pgx.Tx]
	mode     Mode

	tenant  int64
	sources *sources.Sources
	syncer  *syncer.Syncer
	records *records.Reader
	audit   *audit.Log
	actions *writeback.Service
	files   *files.Service
	api     *api.API
	auth    *auth.Service
	portal  *web.Web
	// brand is the portal's branding, read again on a change
	// (brandReload, fed by the listener).
	brand       *brand.Current
	brandReload *brandReloader

	ui            *riverUI // set by Handler; Close stops it
	mailer        mail.Sender
	listeners     sync.WaitGroup // the cache listeners Handler starts
	stopListeners context.CancelFunc
}

// Open connects to the database and checks that its migrations are
// current. The caller must Close the App.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, mode Mode, deps Deps) (*App, error) {
	if cfg.DatabaseURL == "" {
		return nil, ErrNoDatabase
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, poolSize(cfg, mode))
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
	if err := a.wire(ctx, deps); err != nil {
		pool.Close()
		return nil, err
	}

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
func OpenPool(ctx context.Context, url string) (*pgxpool.Pool, error) { return openPool(ctx, url, 0) }

// poolSize is the connections a process needs: one per River worker slot
// it runs, plus room for API requests and River's own housekeeping. pgx's
// default (four, or one per CPU) would queue 40 workers behind 4
// connections. database_max_conns, or pool_max_conns in the URL, overrides.
func poolSize(cfg *config.Config, mode Mode) int32 {
	if cfg.DatabaseMaxConns > 0 {
		return int32(cfg.DatabaseMaxConns)
	}
	n := 8 // River's producers, notifier, elector; migrations and checks
	if mode.Work {
		r := cfg.River
		n += r.SyncWorkers + r.WritebackWorkers + r.NotifyWorkers + r.DefaultWorkers
	}
	if mode.Serve {
		n += 16
	}
	return int32(n)
}

func openPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &config.Error{Key: "database_url", Msg: "cannot parse: " + err.Error()}
	}
	if maxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		pcfg.MaxConns = maxConns
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

// wire builds the subsystems: connections, sync, the read API, audit.
func (a *App) wire(ctx context.Context, deps Deps) error {
	tenant, err := store.TenantBySlug(ctx, a.pool, "default")
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.tenant = tenant.ID
	a.audit = audit.New(a.pool, a.logger)

	var creds connectors.CredentialStore
	if len(a.cfg.Connections) > 0 {
		if a.cfg.Secrets.EncryptionKey == "" {
			return &config.Error{Key: "secrets.encryption_key", Msg: "is required when connections are configured: it encrypts their credentials"}
		}
		key, err := credentials.ParseKey(a.cfg.Secrets.EncryptionKey)
		if err != nil {
			return &config.Error{Key: "secrets.encryption_key", Msg: err.Error()}
		}
		if creds, err = credentials.NewStore(a.pool, a.tenant, key); err != nil {
			return err
		}
	}
	if deps.Connectors == nil {
		deps.Connectors = connectors.NewRegistry[connectors.Deps]()
	}
	if deps.Mappings == nil {
		return errors.New("app: no mappings")
	}
	httpMetrics, err := httpclient.NewMetrics(a.registry)
	if err != nil {
		return err
	}
	a.sources, err = sources.Open(sources.Options{
		Connections: a.cfg.Connections, Registry: deps.Connectors, Credentials: creds,
		Fields:  SourcePaths(deps.Mappings, a.cfg.Connections),
		Metrics: httpMetrics, Logger: a.logger, QuotaFloor: a.cfg.Sync.QuotaFloor,
	})
	if err != nil {
		return err
	}
	a.syncer = syncer.New(syncer.Options{
		Pool: a.pool, TenantID: a.tenant, Connectors: a.sources.Connectors(), Mappings: deps.Mappings,
		Logger: a.logger.With(slog.String("component", "syncer")), PageSize: a.cfg.Sync.PageSize,
		Metrics: syncer.NewMetrics(a.registry, a.pool, a.tenant),
	})
	sc := a.cfg.Sync
	// A sync run ends before River would rescue it as stuck and start it
	// again beside itself.
	maxRun := min(syncer.MaxSyncRun, a.cfg.River.RescueStuckJobsAfter*9/10)
	if err := syncer.Register(a.jobs, a.syncer, syncer.Config{
		Health: a.sources, Interval: sc.Interval, Intervals: sc.Intervals, ReconcileInterval: sc.ReconcileInterval,
		TombstoneRetention: sc.TombstoneRetention, SlowInterval: sc.SlowInterval, MaxRun: maxRun,
	}); err != nil {
		return err
	}
	a.files = a.openFiles(ctx)
	a.actions = writeback.New(writeback.Options{
		Pool: a.pool, Mappings: deps.Mappings, Connectors: a.sources.Connectors(), Health: a.sources, Files: a.files,
		Metrics: writeback.NewMetrics(a.registry), Logger: a.logger.With(slog.String("component", "writeback")),
		// A write must time out before River would rescue it as stuck.
		JobTimeout: min(2*time.Minute, a.cfg.River.RescueStuckJobsAfter/2),
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return a.river.InsertTx(ctx, tx, args, opts)
		},
	})
	writeback.Register(a.jobs, a.actions)
	a.records = records.New(records.Options{
		Pool: a.pool, Mappings: deps.Mappings,
		Enqueue: func(ctx context.Context, args syncer.RefreshArgs) error {
			_, err := a.river.Insert(ctx, args, nil)
			return err
		},
		Refresh: a.syncer.Refresh, Health: a.sources, FreshTimeout: sc.FreshTimeout,
		Logger: a.logger,
	})
	return a.wirePortal(ctx, deps)
}

// openFiles builds the upload store; a serving process says at start
// whether uploads are scanned (dev and production alike).
func (a *App) openFiles(ctx context.Context) *files.Service {
	fc := a.cfg.Files
	var scanner files.Scanner
	network, address, ok := fc.Clamd.Network()
	if ok {
		scanner = files.Clamd{Network: network, Address: address, Timeout: fc.Clamd.Timeout}
	}
	if a.mode.Serve {
		if ok {
			a.logger.InfoContext(ctx, "uploads are scanned for malware by clamd", slog.String("clamd", fc.Clamd.Address))
		} else {
			a.logger.WarnContext(ctx, "files.clamd.address is not set: uploads are NOT scanned for malware (they are kept as unscanned)")
		}
	}
	return files.New(files.Options{Pool: a.pool, Scanner: scanner, MaxBytes: int64(fc.MaxMB) << 20, Types: fc.Types,
		Logger: a.logger.With(slog.String("component", "files"))})
}

// wirePortal builds the portal's identity service and API.
func (a *App) wirePortal(ctx context.Context, deps Deps) error {
	// Without SMTP, mail is not sent, and printed only by portico dev.
	switch {
	case a.cfg.Mail.SMTPURL != "":
		m, err := mail.New(a.cfg.Mail.SMTPURL, a.cfg.Mail.From)
		if err != nil {
			return err
		}
		a.mailer = m
	case deps.DevMail:
		a.mailer = mail.DevLog{Log: a.logger}
	default:
		a.mailer = mail.Unconfigured{}
	}
	authSvc, err := auth.New(auth.Deps{
		Pool: a.pool, Logger: a.logger.With(slog.String("component", "auth")), Config: a.cfg.Auth,
		PublicURL: a.cfg.HTTP.PublicURL, TenantID: a.tenant, Auditor: api.AuthAuditor{Log: a.audit},
		ContactByEmail: api.ContactByEmail(a.pool),
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return a.river.InsertTx(ctx, tx, args, opts)
		},
		ContactInAccount: api.ContactInAccount(a.pool),
		RoleCovered:      deps.Mappings.Covers,
	})
	if err != nil {
		return err
	}
	a.auth = authSvc
	mail.Register(a.jobs.Workers, authSvc, a.mailer, a.logger.With(slog.String("component", "mail")))
	a.api, err = api.New(api.Deps{
		Pool: a.pool, Records: a.records, Mappings: deps.Mappings, Policy: access.NewPolicy(a.pool), Auth: authSvc,
		Actions: api.Writeback{Service: a.actions, Pool: a.pool, Mappings: deps.Mappings}, Audit: a.audit, Files: a.files,
		Logger:         a.logger.With(slog.String("component", "api")),
		PageCacheBytes: a.cfg.HTTP.PageCacheMB << 20,
	})
	if err != nil {
		return err
	}
	var fetch brand.Doer
	if a.cfg.Brand.LogoURL != "" {
		if fetch, err = BrandFetcher(); err != nil {
			return err
		}
	}
	loadBrand := func(ctx context.Context) (*brand.Site, error) {
		return BrandSite(ctx, a.pool, a.tenant, a.cfg.Brand, fetch, a.logger.With(slog.String("component", "brand")))
	}
	site, err := loadBrand(ctx)
	if err != nil {
		return err
	}
	a.brand = brand.NewCurrent(site)
	a.brandReload = newBrandReloader(loadBrand, a.brand, a.logger.With(slog.String("component", "brand")))
	a.portal, err = web.New(web.Deps{API: a.api, Auth: authSvc, Mappings: deps.Mappings, Brand: a.brand,
		Logger: a.logger.With(slog.String("component", "web")), SignOnName: signOnName(a.cfg.Auth.OIDC.IssuerURL)})
	if err != nil {
		return err
	}
	metrics.RegisterCache(a.registry, "sessions", authSvc.CacheStats)
	metrics.RegisterCache(a.registry, "pages", a.api.PageCacheStats)
	return nil
}

// signOnName names the single sign-on provider on the sign-in page: the
// issuer's host ("Sign in with login.example.com").
func signOnName(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return issuer
}

// adminSync schedules an operator's sync and audits it with the job, in
// one transaction.
func (a *App) adminSync(req syncer.AdminRequest) error {
	ctx := req.Request.Context()
	return pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := a.river.InsertTx(ctx, tx, req.Args, nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			TenantID: a.tenant, Actor: audit.ActorFrom(ctx, audit.StaffActor("admin-token")), Action: "admin.sync." + string(req.Args.Mode),
			Object: "sync", ObjectID: req.Args.Connection + "/" + req.Args.Object, After: req.Args,
		}.WithRequest(req.Request))
	})
}

// Syncer runs syncs (the CLI's `portico sync`).
func (a *App) Syncer() *syncer.Syncer { return a.syncer }

// Sources are the opened connections.
func (a *App) Sources() *sources.Sources { return a.sources }

// Records is the read API.
func (a *App) Records() *records.Reader { return a.records }

// Actions accepts and reports customer actions (the write-back).
func (a *App) Actions() *writeback.Service { return a.actions }

// TenantID is the tenant this process serves.
func (a *App) TenantID() int64 { return a.tenant }

// API is the portal API (nil unless serving).
func (a *App) API() *api.API { return a.api }

// Portal is the customer portal's pages (nil unless serving).
func (a *App) Portal() *web.Web { return a.portal }

// Sealer links committed audit events into their chains (Run does it;
// a benchmark that starts River on its own runs it too).
func (a *App) Sealer() *audit.Sealer {
	return audit.NewSealer(a.pool, audit.DefaultSealInterval, a.logger.With(slog.String("component", "audit")))
}

// Pool is the database pool.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// River is the River client.
func (a *App) River() *river.Client[pgx.Tx] { return a.river }

// Close stops River UI's background queries and the cache listeners,
// then releases the pool: nothing of the app queries it afterwards.
func (a *App) Close() {
	if a.ui != nil {
		a.ui.stop()
	}
	if a.stopListeners != nil {
		a.stopListeners()
	}
	a.listeners.Wait()
	a.pool.Close()
}

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
	ui, err := newRiverUI(ctx, a.river, a.logger.With(slog.String("component", "riverui")))
	if err != nil {
		return nil, err
	}
	a.ui = ui
	// Sessions and list pages are served from memory until ctx ends or
	// the app closes.
	lctx, cancel := context.WithCancel(ctx)
	// One LISTEN connection serves both caches.
	subs := a.auth.CacheSubscriptions()
	if subs == nil {
		subs = map[string]pgnotify.Subscriber{}
	}
	maps.Copy(subs, a.api.CacheSubscriptions())
	// The portal's event streams share it too, and end when the server
	// stops, so that they do not hold its shutdown open.
	maps.Copy(subs, a.portal.LiveSubscriptions())
	subs[BrandChannel] = a.brandReload
	a.listeners.Go(func() { a.brandReload.run(lctx) })
	a.listeners.Go(func() { pgnotify.Listen(lctx, a.pool, subs, a.logger) })
	a.listeners.Go(func() { <-lctx.Done(); a.portal.CloseLive() })
	a.stopListeners = cancel
	hooksHandler := &hooks.Handler{
		Lookup: func(name string) (connectors.Connector, bool) {
			src, ok := a.sources.Get(name)
			if !ok {
				return nil, false
			}
			return src.Connector, true
		},
		Pool: a.pool, TenantID: a.tenant, River: a.river,
		PublicURL: a.cfg.HTTP.PublicURL,
		Logger:    a.logger,
	}
	return server.NewRouter(server.Options{
		Config:     a.cfg.HTTP,
		Logger:     a.logger,
		Registry:   a.registry,
		Ready:      a.Ready,
		AdminToken: a.cfg.Admin.Token,
		Staff:      a.auth,
		RiverUI:    ui,
		Mount: func(r chi.Router) {
			r.Mount("/hooks", hooksHandler.Routes())
			a.api.Mount(r, a.cfg.HTTP.CORSOrigins)
			a.portal.Mount(r, reply.New(a.logger).NoEndpoint)
		},
		MountAdmin: func(r chi.Router) {
			r.Mount("/sync", a.syncer.AdminRoutes(a.sources, a.adminSync))
			r.Mount("/audit", audit.AdminRoutes(a.audit))
			r.Mount("/actions", a.actions.AdminRoutes(a.tenant))
		},
	}), nil
}

// Run runs the selected parts until ctx ends, then stops them: the HTTP
// server drains, River stops softly and, after river.soft_stop_timeout,
// cancels the jobs still running. onListen receives the API address.
func (a *App) Run(ctx context.Context, onListen func(addr string)) error {
	if a.cfg.Admin.Token == "" && a.mode.Serve {
		a.logger.InfoContext(ctx, "admin.token is not set: only staff users (operator_admin) reach /admin")
	}
	// A portal on https is a real one; on http it is development.
	if _, ok := a.mailer.(mail.Unconfigured); ok && strings.HasPrefix(a.cfg.HTTP.PublicURL, "https://") {
		a.logger.WarnContext(ctx, "mail.smtp_url is not set: invitations and password resets are not sent (`portico users invite` prints an activation link)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	// Every process seals the audit events committed by any of them; an
	// advisory lock lets one seal at a time.
	wg.Go(func() { a.Sealer().Run(ctx) })

	if a.mode.Work {
		if err := a.river.Start(ctx); err != nil {
			return fmt.Errorf("app: starting workers: %w", err)
		}
		// Periodic jobs wait for leader election; the first sync should
		// not. The jobs are unique, so every worker doing this is harmless.
		if err := a.syncer.EnqueueAll(ctx, a.river); err != nil {
			a.logger.WarnContext(ctx, "enqueueing the first syncs", slog.String("error", err.Error()))
		}
		// A changed mapping re-maps the stored records in the background.
		if n, err := a.syncer.EnqueueRemaps(ctx, a.river); err != nil {
			a.logger.WarnContext(ctx, "enqueueing re-maps", slog.String("error", err.Error()))
		} else if n > 0 {
			a.logger.InfoContext(ctx, "mappings changed: re-mapping stored records", slog.Int("objects", n))
		}
		// A mapping that reads a new source field needs it fetched: a
		// resumable full sync of the object.
		if due, err := a.syncer.EnqueueRepulls(ctx, a.river); err != nil {
			a.logger.WarnContext(ctx, "enqueueing re-pulls", slog.String("error", err.Error()))
		} else {
			for _, r := range due {
				a.logger.InfoContext(ctx, "mapping reads new source fields: full re-pull queued",
					slog.String("connection", r.Connection), slog.String("object", r.Object), slog.String("paths", strings.Join(r.Paths, ", ")))
			}
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

// SourcePaths is what each connection's mappings read, for the connectors'
// select lists.
func SourcePaths(set *mapping.Set, conns []config.ConnectionConfig) map[string]map[string][]string {
	out := make(map[string]map[string][]string, len(conns))
	for _, c := range conns {
		out[c.Name] = set.SourcePaths(c.Name)
	}
	return out
}
