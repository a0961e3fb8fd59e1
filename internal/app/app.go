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
	"go.opentelemetry.io/otel/trace"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/connect"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/fleet"
	"github.com/porticohq/portico/internal/hooks"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/replica"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/seal"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/tracing"
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
	// Tracing replaces the provider built from tracing.* (tests record
	// spans in memory); nil builds it from config.
	Tracing *tracing.Provider
}

// App is one Portico process.
type App struct {
	cfg    *config.Config
	logger *slog.Logger
	pool   *pgxpool.Pool
	// reads routes the API's lag-tolerant reads to database.read_url's
	// replica (nil pool there: all to pool).
	reads    *replica.Router
	registry *prometheus.Registry
	jobs     *jobs.Registry
	river    *river.Client[pgx.Tx]
	mode     Mode
	tracing  *tracing.Provider

	tenant  int64
	creds   connectors.CredentialStore // nil without connections
	fleet   *fleet.Fleet
	sources *sources.Sources
	syncer  *syncer.Syncer
	records *records.Reader
	audit   *audit.Log
	actions *writeback.Service
	files   *files.Service
	// approvals keeps approval requests' states and signatures.
	approvals *approval.Service
	api       *api.API
	auth      *auth.Service
	portal    *web.Web
	notify    *notify.Service
	privacy   *privacy.Service
	reports   *reports.Service
	// events batches the portal events the reports count (Handler runs
	// it while serving).
	events *reports.Recorder
	// brand is the portal's branding, read again on a change
	// (brandReload, fed by the listener).
	brand       *brand.Current
	brandReload *brandReloader
	// brandSvc changes the stored brand for staff (console, /admin/brand).
	brandSvc *BrandService

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
	tp := deps.Tracing
	if tp == nil {
		var err error
		if tp, err = tracing.New(ctx, cfg.Tracing); err != nil {
			return nil, err
		}
	}
	if tp.On() {
		// Log lines written with a span's context carry its trace id
		// (off, no context holds one).
		logger = slog.New(tracing.LogHandler(logger.Handler()))
	}
	pool, err := openPool(ctx, "database_url", cfg.DatabaseURL, poolSize(cfg, mode), tp.On())
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, err
	}
	if err := migrate.Check(ctx, pool); err != nil {
		pool.Close()
		_ = tp.Shutdown(ctx)
		return nil, err
	}
	if err := checkListen(ctx, pool, mode); err != nil {
		pool.Close()
		_ = tp.Shutdown(ctx)
		return nil, err
	}
	reads, err := openReplica(ctx, cfg, mode, pool, tp.On(), logger)
	if err != nil {
		pool.Close()
		_ = tp.Shutdown(ctx)
		return nil, err
	}
	a := &App{
		cfg:      cfg,
		logger:   logger,
		pool:     pool,
		reads:    reads,
		registry: metrics.NewRegistry(),
		jobs:     jobs.NewRegistry(),
		mode:     mode,
		tracing:  tp,
	}
	a.registry.MustRegister(metrics.NewRiverJobs(pool, logger))
	a.registry.MustRegister(reads.Collectors()...)
	if err := a.wire(ctx, deps); err != nil {
		a.closeFleet()
		a.closePools()
		return nil, err
	}

	clientMode := jobs.InsertOnly
	if mode.Work {
		clientMode = jobs.Work
	}
	var mw []rivertype.Middleware
	if tp.On() {
		mw = append(mw, tracing.NewRiver(tp))
	}
	if a.river, err = jobs.NewClient(pool, cfg.River, a.jobs, clientMode, logger, mw...); err != nil {
		a.closeFleet()
		a.closePools()
		return nil, err
	}
	return a, nil
}

// OpenPool opens a pgx pool and checks the server answers.
func OpenPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	return openPool(ctx, "database_url", url, 0, false)
}

// checkListen refuses workers a connection that cannot LISTEN (a
// transaction-mode pooler): River's job notifications, the shared
// breaker's signal and the notification dispatch need one that can, and
// the workers' session state (advisory locks, River's leader) needs a
// session of its own. serve copes: its caches stay off (pgnotify).
func checkListen(ctx context.Context, pool *pgxpool.Pool, mode Mode) error {
	if !mode.Work {
		return nil
	}
	err := pgnotify.Probe(ctx, pool, pgnotify.ProbeTimeout)
	switch {
	case errors.Is(err, pgnotify.ErrCannotListen):
		return &config.Error{Key: "database_url", Msg: "cannot LISTEN through this connection (a transaction-mode pooler such as PgBouncer with pool_mode = transaction?): " +
			"worker and run need a direct or session-pooled connection to PostgreSQL; only serve may go through a transaction pooler (docs/operations.md)"}
	case err != nil:
		return fmt.Errorf("app: checking that the connection can LISTEN: %w", err)
	}
	return nil
}

// openReplica opens database.read_url's pool for a serving process (the
// workers read and write the primary only); without one, every read goes
// to the primary.
func openReplica(ctx context.Context, cfg *config.Config, mode Mode, primary *pgxpool.Pool, traced bool, logger *slog.Logger) (*replica.Router, error) {
	opts := replica.Options{Primary: primary, MaxLag: cfg.Database.MaxReplicaLag,
		Secure: strings.HasPrefix(cfg.HTTP.PublicURL, "https://"), Logger: logger.With(slog.String("component", "replica"))}
	if cfg.Database.ReadURL == "" || !mode.Serve {
		return replica.New(opts), nil
	}
	size := poolSize(cfg, Mode{Serve: true})
	pool, err := openPool(ctx, "database.read_url", cfg.Database.ReadURL, size, traced)
	if err != nil {
		return nil, err
	}
	opts.Replica = pool
	logger.InfoContext(ctx, "lists and details are read from the replica while its lag stays under database.max_replica_lag",
		slog.String("replica", pool.Config().ConnConfig.Host), slog.Duration("max_replica_lag", cfg.Database.MaxReplicaLag))
	return replica.New(opts), nil
}

// closePools releases the replica's pool and the primary's.
func (a *App) closePools() {
	if p := a.reads.ReplicaPool(); p != nil {
		p.Close()
	}
	a.pool.Close()
}

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

// traced adds a span per query below the span in the query's context.
func openPool(ctx context.Context, key, url string, maxConns int32, traced bool) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &config.Error{Key: key, Msg: "cannot parse: " + err.Error()}
	}
	if traced {
		pcfg.ConnConfig.Tracer = tracing.Pgx{}
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
	a.reports = reports.New(a.pool, a.tenant)
	a.events = reports.NewRecorder(a.pool, a.tenant, a.logger.With(slog.String("component", "reports")))

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
		a.creds = creds
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
	// Every process shares each connection's call budget and breaker
	// trips through the database.
	a.fleet = fleet.New(fleet.Options{Pool: a.pool, Lease: a.cfg.Sync.QuotaLease, Logger: a.logger.With(slog.String("component", "fleet"))})
	a.registry.MustRegister(fleet.NewCollector(a.fleet))
	a.sources, err = sources.Open(ctx, sources.Options{
		Connections: a.cfg.Connections, Registry: deps.Connectors, Credentials: creds,
		Fields:  SourcePaths(deps.Mappings, a.cfg.Connections),
		Metrics: httpMetrics, Logger: a.logger, QuotaFloor: a.cfg.Sync.QuotaFloor, Fleet: a.fleet,
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
	if a.files, err = a.openFiles(ctx); err != nil {
		return err
	}
	// Content a crash left without its row (directory and S3 stores),
	// removed hourly once an hour old, by one worker at a time.
	files.RegisterSweep(a.jobs, a.files, files.SweepOptions{MaxRun: min(30*time.Minute, a.cfg.River.RescueStuckJobsAfter*9/10)})
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
	// Approval requests' states follow their records: withdrawn at the
	// source, presented again, expired, decided there.
	a.approvals = approval.New(a.pool, nil)
	approval.Register(a.jobs, a.approvals, time.Minute)
	// Personal data is a registry of parts: a subsystem that keeps more
	// of it adds its part here, and export, erasure, purge and the record
	// of processing take it in.
	parts := &privacy.Registry{}
	parts.MustRegister(privacy.Builtin(a.files)...)
	a.privacy = privacy.New(privacy.Options{
		Pool: a.pool, TenantID: a.tenant, Registry: parts, Connectors: a.sources.Connectors(), Config: a.cfg.Privacy,
		Logger: a.logger.With(slog.String("component", "privacy")),
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return a.river.InsertTx(ctx, tx, args, opts)
		},
	})
	privacy.Register(a.jobs, a.privacy)
	a.records = records.New(records.Options{
		Pool: a.pool, Read: a.reads.Read, Mappings: deps.Mappings,
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
func (a *App) openFiles(ctx context.Context) (*files.Service, error) {
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
	opts := files.Options{Pool: a.pool, Scanner: scanner, MaxBytes: int64(fc.MaxMB) << 20, Types: fc.Types,
		Logger: a.logger.With(slog.String("component", "files"))}
	if fc.Store == "s3" {
		s3 := fc.S3
		blobs, err := files.NewS3Blobs(files.S3Options{Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region, Prefix: s3.Prefix,
			AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey, Insecure: s3.Insecure})
		if err != nil {
			return nil, err
		}
		if a.mode.Serve {
			if err := blobs.Check(ctx); err != nil {
				return nil, err
			}
			a.logger.InfoContext(ctx, "file content is kept in S3", slog.String("endpoint", s3.Endpoint), slog.String("bucket", s3.Bucket))
		}
		opts.Blobs = blobs
	}
	if fc.Store == "dir" {
		blobs, err := files.NewDirBlobs(fc.Dir)
		if err != nil {
			return nil, err
		}
		if err := blobs.Check(ctx); err != nil {
			return nil, err
		}
		if a.mode.Serve {
			a.logger.InfoContext(ctx, "file content is kept in a directory", slog.String("dir", fc.Dir))
		}
		opts.Blobs = blobs
	}
	return files.New(opts), nil
}

// openSealer loads the operator's sealing certificate, if configured; serve
// says at start whether approvals the mapping marks sign: true are signed.
func (a *App) openSealer(ctx context.Context, set *mapping.Set) (*seal.Signer, error) {
	sc := a.cfg.Signing
	var signer *seal.Signer
	if sc.CertFile != "" {
		var err error
		if signer, err = seal.LoadSigner(sc.CertFile, sc.KeyFile); err != nil {
			return nil, &config.Error{Key: "signing.cert_file", Msg: err.Error()}
		}
	}
	obj, signs := set.Object("approval_request")
	if !a.mode.Serve || !signs || !obj.Sign() {
		return signer, nil
	}
	switch {
	case signer == nil:
		a.logger.WarnContext(ctx, "signing.cert_file is not set: approvals the mapping marks sign: true are taken WITHOUT a signature")
	default:
		a.logger.InfoContext(ctx, "approvals are signed and sealed", slog.String("certificate", signer.Cert.Subject.String()),
			slog.Time("not_after", signer.Cert.NotAfter))
	}
	return signer, nil
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
		SignedIn: func(userID int64, accountID string) {
			a.events.Record(reports.Event{Kind: reports.SignIn, UserID: userID, AccountID: accountID})
		},
	})
	if err != nil {
		return err
	}
	a.auth = authSvc
	mail.Register(a.jobs.Workers, authSvc, a.mailer, a.logger.With(slog.String("component", "mail")))
	sealer, err := a.openSealer(ctx, deps.Mappings)
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
	a.brandSvc = NewBrandService(a.pool, a.tenant, a.cfg.Brand, a.brand, fetch, a.logger.With(slog.String("component", "brand")))
	// The notifications come before the API, which serves the inbox.
	if err := a.wireNotify(deps.Mappings); err != nil {
		return err
	}
	a.api, err = api.New(api.Deps{
		Pool: a.pool, Read: a.reads.Read, Records: a.records, Mappings: deps.Mappings, Policy: access.NewPolicy(a.pool), Auth: authSvc,
		Actions: api.Writeback{Service: a.actions, Pool: a.pool, Mappings: deps.Mappings}, Audit: a.audit, Files: a.files,
		Approvals: a.approvals, Sealer: sealer,
		SourceFiles: func(name string) (connectors.FileReader, bool) {
			src, ok := a.sources.Get(name)
			if !ok {
				return nil, false
			}
			fr, ok := src.Connector.(connectors.FileReader)
			return fr, ok
		},
		Brand:  a.brand,
		Events: a.events,
		Notify: a.notify, Privacy: a.privacy,
		Logger:         a.logger.With(slog.String("component", "api")),
		PageCacheBytes: a.cfg.HTTP.PageCacheMB << 20,
	})
	if err != nil {
		return err
	}
	a.portal, err = web.New(web.Deps{API: a.api, Auth: authSvc, Mappings: deps.Mappings, Brand: a.brand,
		Logger: a.logger.With(slog.String("component", "web")), SignOnName: signOnName(a.cfg.Auth.OIDC.IssuerURL),
		Notify: a.notify, Privacy: a.privacy,

		Reports: a.reports, StaffActions: a.actions, TenantID: a.tenant, Audit: a.audit,
		Users: func(ctx context.Context, account string) ([]auth.User, error) {
			return auth.ListUsers(ctx, a.pool, a.tenant, account)
		},
		SyncStatus: func(ctx context.Context) ([]syncer.ConnectionStatus, error) { return a.syncer.Status(ctx, a.sources) },
		Connect:    a.consoleConnect(), BrandEditor: a.brandSvc})
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
// consoleConnect runs the console's Connect buttons: the connections'
// consent flows, answering to the portal's callback and storing the
// tokens where the connectors read them; nil without connections.
func (a *App) consoleConnect() web.ConnectFlows {
	if a.creds == nil {
		return nil
	}
	return &connect.Console{Conns: a.cfg.Connections, Store: sources.Fingerprinted(a.creds, a.cfg.Connections), Audit: a.pool, TenantID: a.tenant,
		Callback: strings.TrimRight(a.cfg.HTTP.PublicURL, "/") + "/console/connect/callback"}
}

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

// Config is the configuration the app was opened with.
func (a *App) Config() *config.Config { return a.cfg }

// Privacy is the GDPR service (the CLI's `portico privacy`).
func (a *App) Privacy() *privacy.Service { return a.privacy }

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
	a.closeFleet()
	a.closePools()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.logger.Warn("flushing traces", slog.String("error", err.Error()))
	}
}

// httpTracer is the provider for request spans, nil when tracing is off.
func (a *App) httpTracer() trace.TracerProvider {
	if !a.tracing.On() {
		return nil
	}
	return a.tracing
}

// closeFleet gives back the calls this process leased from the shared
// budgets.
func (a *App) closeFleet() {
	if a.fleet == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.fleet.Close(ctx)
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
	maps.Copy(subs, a.fleet.Subscriptions())
	if a.mode.Work {
		subs[notify.Channel] = a.notify.Subscriber()
	}
	// The header's unread count comes from memory while this connection
	// tells of inbox changes.
	maps.Copy(subs, a.notify.UnreadSubscriptions())
	a.listeners.Go(func() { a.brandReload.run(lctx) })
	a.listeners.Go(func() { pgnotify.Listen(lctx, a.pool, subs, a.logger) })
	a.listeners.Go(func() { <-lctx.Done(); a.portal.CloseLive() })
	a.listeners.Go(func() { a.events.Run(lctx) })
	a.listeners.Go(func() { a.reads.Run(lctx) })
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
		Synced:    a.syncer.Syncs,
	}
	// A read right after the client's own write goes to the primary.
	return a.reads.Middleware(server.NewRouter(server.Options{
		Config:     a.cfg.HTTP,
		Logger:     a.logger,
		Registry:   a.registry,
		Ready:      a.Ready,
		AdminToken: a.cfg.Admin.Token,
		Staff:      a.auth,
		RiverUI:    ui,
		Tracer:     a.httpTracer(),
		Mount: func(r chi.Router) {
			r.Mount("/hooks", hooksHandler.Routes())
			a.api.Mount(r, a.cfg.HTTP.CORSOrigins)
			a.portal.Mount(r, reply.New(a.logger).NoEndpoint)
		},
		MountAdmin: func(r chi.Router) {
			r.Mount("/sync", a.syncer.AdminRoutes(a.sources, a.adminSync))
			r.Mount("/audit", audit.AdminRoutes(a.audit))
			r.Mount("/actions", a.actions.AdminRoutes(a.tenant))
			r.Mount("/privacy", a.privacy.AdminRoutes())
			r.Mount("/reports", reports.AdminRoutes(a.reports, a.logger))
			r.Mount("/users", a.auth.AdminRoutes(func(r *http.Request) string { return adminActor(r).String() }))
			r.Mount("/brand", a.brandSvc.AdminRoutes(adminActor, a.logger))
		},
	})), nil
}

// adminActor is who acts on an /admin request: the staff member, else the
// shared admin token.
func adminActor(r *http.Request) audit.Actor {
	return audit.ActorFrom(r.Context(), audit.TokenActor("admin"))
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

	if a.mode.Work && !a.mode.Serve {
		// A worker hears of other processes' breaker trips and of new
		// notification events at once, on one LISTEN connection (a
		// serving process listens in Handler, with its caches).
		subs := a.fleet.Subscriptions()
		subs[notify.Channel] = a.notify.Subscriber()
		a.startListener(ctx, subs)
		if addr := a.cfg.River.MetricsAddr; addr != "" {
			hcfg := a.cfg.HTTP
			hcfg.Addr = addr
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[1] = server.Serve(ctx, hcfg, server.MetricsRouter(a.logger, a.registry), a.logger, onListen)
				cancel() // as the API server's: a failed listener takes the process down
			}()
		}
	}
	if a.mode.Work {
		// Webhook secrets kept in clear (before the encryption key was
		// set) are sealed before the first delivery.
		if n, err := a.notify.SealWebhookSecrets(ctx); err != nil {
			a.logger.WarnContext(ctx, "sealing webhook secrets", slog.String("error", err.Error()))
		} else if n > 0 {
			a.logger.InfoContext(ctx, "sealed webhook secrets kept in clear", slog.Int("webhooks", n))
		}
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
		// Every worker process dispatches notification events; they share
		// them through row locks.
		// A serving process's one LISTEN connection feeds them (Handler);
		// a worker alone listens for them itself.
		wg.Go(func() { _ = a.notify.Run(ctx, a.cfg.Notify.Poll, false) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			errs[0] = a.stopRiver()
		}()
	}
	if a.mode.Serve {
		// Resumable uploads left unfinished are deleted (any instance may).
		expire := a.cfg.Files.Resumable.Expire
		wg.Add(1)
		go func() {
			defer wg.Done()
			files.TusStore{Pool: a.pool}.Sweep(ctx, expire, min(expire/4, time.Hour), func(n int64, err error) {
				if err != nil {
					a.logger.WarnContext(ctx, "expiring resumable uploads", slog.String("error", err.Error()))
					return
				}
				a.logger.InfoContext(ctx, "expired unfinished resumable uploads", slog.Int64("uploads", n))
			})
		}()
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

// startListener listens for subs until ctx ends or the app closes.
func (a *App) startListener(ctx context.Context, subs map[string]pgnotify.Subscriber) {
	lctx, cancel := context.WithCancel(ctx)
	a.stopListeners = cancel
	a.listeners.Go(func() { pgnotify.Listen(lctx, a.pool, subs, a.logger) })
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
