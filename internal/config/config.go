package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/brand"
)

// Config is the whole of Portico's configuration. Every key is documented in
// config/portico.example.yaml; a test keeps the two in step.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string. Empty means "no
	// database configured"; `portico dev` then starts a private cluster.
	DatabaseURL string `mapstructure:"database_url"`
	// DatabaseMaxConns caps a process's connections; 0 sizes the pool from
	// the River worker counts.
	DatabaseMaxConns int `mapstructure:"database_max_conns"`
	// Database holds the optional read replica.
	Database DatabaseConfig `mapstructure:"database"`

	Log         LogConfig          `mapstructure:"log"`
	Tracing     TracingConfig      `mapstructure:"tracing"`
	HTTP        HTTPConfig         `mapstructure:"http"`
	Admin       AdminConfig        `mapstructure:"admin"`
	Auth        AuthConfig         `mapstructure:"auth"`
	Mail        MailConfig         `mapstructure:"mail"`
	Brand       BrandConfig        `mapstructure:"brand"`
	River       RiverConfig        `mapstructure:"river"`
	Secrets     SecretsConfig      `mapstructure:"secrets"`
	Connections []ConnectionConfig `mapstructure:"connections"`
	Sync        SyncConfig         `mapstructure:"sync"`
	Mappings    MappingsConfig     `mapstructure:"mappings"`
	Files       FilesConfig        `mapstructure:"files"`
	Signing     SigningConfig      `mapstructure:"signing"`
	Notify      NotifyConfig       `mapstructure:"notify"`
	Privacy     PrivacyConfig      `mapstructure:"privacy"`
	Dev         DevConfig          `mapstructure:"dev"`
}

// DatabaseConfig configures where the API's reads go (internal/replica).
type DatabaseConfig struct {
	// ReadURL is a streaming replica of database_url's server (a hot
	// standby); empty: every read goes to database_url. The API's lists
	// and details read from it while its lag stays under MaxReplicaLag,
	// and a session's reads right after its own write go to the primary.
	ReadURL string `mapstructure:"read_url"`
	// MaxReplicaLag is the most lag (how long ago the primary was where
	// the replica has replayed to) at which reads still go to the replica;
	// above it they fall back to the primary.
	MaxReplicaLag time.Duration `mapstructure:"max_replica_lag"`
}

// LogConfig configures log/slog.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // json or text
}

// TracingConfig configures OpenTelemetry tracing. An empty OTLPEndpoint
// turns tracing off: no exporter runs and spans are no-ops.
type TracingConfig struct {
	// OTLPEndpoint is the OTLP/HTTP collector's URL
	// (http://collector:4318); empty turns tracing off.
	OTLPEndpoint string `mapstructure:"otlp_endpoint"`
	// SampleRatio is the share of new traces kept, 0 to 1; a trace begun
	// elsewhere follows its parent's decision.
	SampleRatio float64 `mapstructure:"sample_ratio"`
	// ServiceName names this process in the traces.
	ServiceName string `mapstructure:"service_name"`
}

// HTTPConfig configures the API server.
type HTTPConfig struct {
	Addr            string        `mapstructure:"addr"`
	PublicURL       string        `mapstructure:"public_url"`
	ReadTimeout     time.Duration `mapstructure:"read_timeout"`
	WriteTimeout    time.Duration `mapstructure:"write_timeout"`
	IdleTimeout     time.Duration `mapstructure:"idle_timeout"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// CORSOrigins are the browser origins allowed to call the API from
	// another site (https://portal.example.com); empty turns CORS off.
	CORSOrigins []string `mapstructure:"cors_origins"`
	// PageCacheMB is the memory, in MiB, for rendered list pages
	// (internal/api/pages.go); 0 turns the page cache off.
	PageCacheMB int `mapstructure:"page_cache_mb"`
	// TrustedProxies are the CIDRs (or single addresses) of the reverse
	// proxies in front of Portico. Only a request whose peer is one of
	// them has its client address taken from X-Forwarded-For; empty
	// trusts no header, which is right when nothing sits in front.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// ThrottleConfig bounds failed logins.
type ThrottleConfig struct {
	PerEmail int           `mapstructure:"per_email"`
	PerIP    int           `mapstructure:"per_ip"`
	Window   time.Duration `mapstructure:"window"`
}

// MailConfig configures the email that invitations and password resets
// are sent by.
type MailConfig struct {
	// SMTPURL is smtp://user:password@host:587 (STARTTLS, required unless
	// the host is loopback) or smtps://...:465 (TLS from the start). Empty:
	// mail is not sent (portico dev prints it, marked as dev mail).
	SMTPURL string `mapstructure:"smtp_url"`
	// From is the sender address.
	From string `mapstructure:"from"`
}

// BrandConfig is the portal's branding (internal/brand). What `portico
// brand set` stored in the database overrides it field by field.
type BrandConfig struct {
	// Name is shown in the header, the title and the error pages; empty
	// is "Customer portal" in the page's language.
	Name string `mapstructure:"name"`
	// PrimaryColor and AccentColor are #rrggbb; each must reach WCAG AA
	// contrast (4.5:1) on the backgrounds the portal sets it on.
	PrimaryColor string `mapstructure:"primary_color"`
	AccentColor  string `mapstructure:"accent_color"`
	// The support contact shown in the footer and on the error pages;
	// each may be empty.
	SupportEmail string `mapstructure:"support_email"`
	SupportPhone string `mapstructure:"support_phone"`
	SupportURL   string `mapstructure:"support_url"`
	// Logo is an image file (PNG, SVG, WebP or JPEG, at most 256 KiB);
	// LogoURL is one fetched once and served from the cache. At most one.
	Logo    string `mapstructure:"logo"`
	LogoURL string `mapstructure:"logo_url"`
}

// Brand is the configured brand's fields (internal/brand).
func (b BrandConfig) Brand() brand.Brand {
	return brand.Brand{Name: b.Name, PrimaryColor: b.PrimaryColor, AccentColor: b.AccentColor,
		SupportEmail: b.SupportEmail, SupportPhone: b.SupportPhone, SupportURL: b.SupportURL}
}

// ReadLogo reads and checks the logo file; nil without one.
func (b BrandConfig) ReadLogo() (*brand.Logo, error) {
	if b.Logo == "" {
		return nil, nil
	}
	body, err := os.ReadFile(b.Logo)
	if err != nil {
		return nil, fmt.Errorf("cannot read the logo: %w", err)
	}
	return brand.CheckLogo(body)
}

// AdminConfig holds the shared admin token, accepted on /admin beside
// staff sessions and staff API tokens, for bootstrap and scripts.
type AdminConfig struct {
	Token string `mapstructure:"token"`
}

// AuthConfig configures portal login (internal/auth).
type AuthConfig struct {
	// SessionIdleTimeout ends a browser session after this long without a
	// request; SessionLifetime ends it this long after login regardless.
	SessionIdleTimeout time.Duration `mapstructure:"session_idle_timeout"`
	SessionLifetime    time.Duration `mapstructure:"session_lifetime"`
	// UnknownOIDCEmail says what single sign-on does with an email that
	// has no portal user: "refuse", or "match_contact" to create a member
	// user for the CRM contact with that email.
	UnknownOIDCEmail string `mapstructure:"unknown_oidc_email"`
	// Cache keeps sessions and API tokens in memory, invalidated by
	// PostgreSQL LISTEN/NOTIFY; turn it off when the database is reached
	// through a pooler that cannot LISTEN (PgBouncer in transaction mode).
	Cache bool `mapstructure:"cache"`
	// Throttle locks out logins after this many failures per email, or per
	// client address, within the window (the same answer either way).
	Throttle ThrottleConfig `mapstructure:"throttle"`
	OIDC     OIDCConfig     `mapstructure:"oidc"`
}

// OIDCConfig configures single sign-on; an empty IssuerURL turns it off.
type OIDCConfig struct {
	IssuerURL    string `mapstructure:"issuer_url"`
	ClientID     string `mapstructure:"client_id"`
	ClientSecret string `mapstructure:"client_secret"`
	// RedirectURL is the callback registered at the provider; empty means
	// http.public_url + /auth/oidc/callback.
	RedirectURL string `mapstructure:"redirect_url"`
	// TrustEmailWithoutVerifiedClaim accepts an ID token's email when the
	// provider sends no email_verified claim at all (some verify every
	// address and say nothing). Off, such an email counts as unverified;
	// an explicit email_verified: false is refused either way.
	TrustEmailWithoutVerifiedClaim bool `mapstructure:"trust_email_without_verified_claim"`
}

// UnknownOIDCEmailModes are the values auth.unknown_oidc_email takes.
var UnknownOIDCEmailModes = []string{"refuse", "match_contact"}

// RiverConfig sizes the job queues.
type RiverConfig struct {
	SyncWorkers       int           `mapstructure:"sync_workers"`
	WritebackWorkers  int           `mapstructure:"writeback_workers"`
	NotifyWorkers     int           `mapstructure:"notify_workers"`
	DefaultWorkers    int           `mapstructure:"default_workers"`
	FetchCooldown     time.Duration `mapstructure:"fetch_cooldown"`
	FetchPollInterval time.Duration `mapstructure:"fetch_poll_interval"`
	// SoftStopTimeout is how long running jobs get to finish on shutdown
	// before their contexts are cancelled.
	SoftStopTimeout time.Duration `mapstructure:"soft_stop_timeout"`
	// RescueStuckJobsAfter is how long a job may stay running before River
	// runs it again: a worker killed mid-job leaves its jobs running.
	RescueStuckJobsAfter time.Duration `mapstructure:"rescue_stuck_jobs_after"`
	// MetricsAddr is where a `worker` process serves /metrics and
	// /healthz (host:port); empty serves nothing. `serve` and `run` serve
	// them on http.addr and ignore it.
	MetricsAddr string `mapstructure:"metrics_addr"`
}

// NotifyConfig shapes the notifications (internal/notify).
type NotifyConfig struct {
	// Hold is how long an immediate notice waits for more events about its
	// record, which fold into it, before it is emailed.
	Hold time.Duration `mapstructure:"hold"`
	// DedupWindow: after a record's notice was emailed, later events of the
	// same kind within it make one more notice, sent when it ends.
	DedupWindow time.Duration `mapstructure:"dedup_window"`
	// DailyCap is how many notices a user is emailed one by one per local
	// day; later ones wait for the digest. 0: no cap.
	DailyCap int `mapstructure:"daily_cap"`
	// DigestHour is the local hour (0-23) from which the daily digest goes.
	DigestHour int `mapstructure:"digest_hour"`
	// Poll is how often a worker looks for events when no notification
	// woke it.
	Poll time.Duration `mapstructure:"poll"`
	// Dispatchers are the dispatch loops per worker process.
	Dispatchers int `mapstructure:"dispatchers"`
	// ScanInterval is how often the time-based events (invoice due,
	// overdue, approval reminders) and the digests are looked for.
	ScanInterval time.Duration `mapstructure:"scan_interval"`
	// WebhookMaxFailures disables an account's webhook after so many
	// failed deliveries in a row.
	WebhookMaxFailures int `mapstructure:"webhook_max_failures"`
	// WebhookPrivateTargets lets account webhooks reach loopback, private
	// and link-local addresses (a receiver on this machine, in
	// development). Off, the worker posts to public addresses only: an
	// account admin's URL must not reach inside the operator's network.
	WebhookPrivateTargets bool `mapstructure:"webhook_private_targets"`
	// Rules, by event, replace the built-in rule of that event.
	Rules map[string]NotifyRuleConfig `mapstructure:"rules"`
}

// NotifyRuleConfig is one notification rule (its event is its key): which
// roles receive it (empty: every role that may see the record), the default
// email mode (immediate, digest, off) and the text/template subject and body.
type NotifyRuleConfig struct {
	Roles   []string `mapstructure:"roles"`
	Email   string   `mapstructure:"email"`
	Subject string   `mapstructure:"subject"`
	Body    string   `mapstructure:"body"`
}

// SecretsConfig holds the key that encrypts connection credentials at rest.
type SecretsConfig struct {
	// EncryptionKey is 32 bytes, base64 encoded (AES-256-GCM).
	EncryptionKey string `mapstructure:"encryption_key"`
}

// ConnectionConfig names one source system the operator connected.
type ConnectionConfig struct {
	Name    string `mapstructure:"name"`
	Type    string `mapstructure:"type"` // salesforce, accounting, inventory
	BaseURL string `mapstructure:"base_url"`
	// TokenURL is the OAuth2 token endpoint; empty means BaseURL's default.
	TokenURL string `mapstructure:"token_url"`
	// AuthURL is the vendor's OAuth 2.0 consent page that `portico
	// connectors connect` sends the operator to; empty means the vendor's
	// default (Salesforce: BaseURL's /services/oauth2/authorize;
	// QuickBooks: https://appcenter.intuit.com/connect/oauth2; Square:
	// BaseURL's /oauth2/authorize).
	AuthURL string `mapstructure:"auth_url"`
	// RedirectURL is the callback registered with the vendor's app, on
	// which `portico connectors connect` listens for the consent's answer
	// (http on this machine); DefaultRedirectURL when not given.
	RedirectURL  string `mapstructure:"redirect_url"`
	ClientID     string `mapstructure:"client_id"`
	ClientSecret string `mapstructure:"client_secret"`
	// RefreshToken seeds the credential store on first start; a rotated
	// token is stored in PostgreSQL from then on.
	RefreshToken string `mapstructure:"refresh_token"`
	// AccessToken is a static bearer token (Square-style).
	AccessToken string `mapstructure:"access_token"`
	// Realm is the QuickBooks-style company id, or the Salesforce
	// organization id (15 or 18 characters) outbound messages must name.
	Realm string `mapstructure:"realm"`
	// WebhookSecret verifies inbound webhooks: the HMAC key for QuickBooks
	// and Square; for Salesforce, whose outbound messages cannot be signed,
	// the secret last segment of the endpoint URL
	// (/hooks/{name}/{webhook_secret}). Empty turns webhooks off.
	WebhookSecret string `mapstructure:"webhook_secret"`
	// Settings are the connector's own keys (connectors/README.md lists
	// them per type), e.g. salesforce's external_id_field.
	Settings map[string]string `mapstructure:"settings"`

	Quota   QuotaConfig   `mapstructure:"quota"`
	Breaker BreakerConfig `mapstructure:"breaker"`
	Retry   RetryConfig   `mapstructure:"retry"`
	// RequestTimeout bounds one HTTP request to the source.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// MaxResponseBytes caps one response body.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
}

// DefaultRedirectURL is where `portico connectors connect` listens for the
// vendor's answer when a connection names no redirect_url: register it as
// the app's callback URL with the vendor.
const DefaultRedirectURL = "http://127.0.0.1:8765/callback"

// QuotaConfig is a connection's call budget.
type QuotaConfig struct {
	PerMinute int `mapstructure:"per_minute"`
	PerDay    int `mapstructure:"per_day"`
	// WriteShare is the fraction of each budget reserved for customer
	// writes, which background reads may not spend.
	WriteShare float64 `mapstructure:"write_share"`
}

// BreakerConfig configures the per-connection circuit breaker.
type BreakerConfig struct {
	// Failures is the number of consecutive failures that opens it.
	Failures int `mapstructure:"failures"`
	// OpenTimeout is how long it stays open before it half-opens.
	OpenTimeout time.Duration `mapstructure:"open_timeout"`
}

// RetryConfig configures the shared HTTP client's retries.
type RetryConfig struct {
	Max     int           `mapstructure:"max"`
	WaitMin time.Duration `mapstructure:"wait_min"`
	WaitMax time.Duration `mapstructure:"wait_max"`
}

// SyncConfig schedules the sync jobs.
type SyncConfig struct {
	// Interval is how often each object's incremental sync runs; 0 (the
	// default) derives it from each object's freshness target, backing
	// off while the object stays idle, and polls a connection's objects
	// together (one Salesforce Composite call for all of them).
	Interval time.Duration `mapstructure:"interval"`
	// Intervals overrides Interval per vendor object, e.g. {Case: 10s}.
	Intervals map[string]time.Duration `mapstructure:"intervals"`
	// ReconcileInterval is how often ids and versions are compared with
	// the source to catch what change feeds miss.
	ReconcileInterval time.Duration `mapstructure:"reconcile_interval"`
	// TombstoneRetention is how long deleted records are kept.
	TombstoneRetention time.Duration `mapstructure:"tombstone_retention"`
	// PageSize is the number of records asked for per page.
	PageSize int `mapstructure:"page_size"`
	// QuotaFloor: when a connection has less than this share of its read
	// budget left, background syncs run at most every SlowInterval.
	QuotaFloor   float64       `mapstructure:"quota_floor"`
	SlowInterval time.Duration `mapstructure:"slow_interval"`
	// FreshTimeout bounds a ?fresh=true read-through to the source.
	FreshTimeout time.Duration `mapstructure:"fresh_timeout"`
	// QuotaLease is how many background-read calls a process takes at
	// once from a connection's budget, which every process shares in
	// PostgreSQL (1: one statement per source call).
	QuotaLease int `mapstructure:"quota_lease"`
}

// MappingsConfig says where the field mappings come from.
type MappingsConfig struct {
	// Dir holds the mapping files (*.yaml); empty means the shipped ones.
	Dir string `mapstructure:"dir"`
}

// FilesConfig configures uploads (internal/files).
type FilesConfig struct {
	// MaxMB caps one upload, in MiB (a larger one is refused with 413).
	MaxMB int `mapstructure:"max_mb"`
	// Types are the content types (as sniffed from the content) accepted
	// per portal object the files attach to (case, invoice, ...); an
	// object not listed accepts files.DefaultTypes.
	Types map[string][]string `mapstructure:"types"`
	Clamd ClamdConfig         `mapstructure:"clamd"`
	// Resumable configures resumable (tus) uploads.
	Resumable ResumableConfig `mapstructure:"resumable"`
	// Store is where file content is kept: "postgres" (chunked bytea in
	// the file_chunk table, the default), "s3" (an S3-compatible bucket,
	// S3) or "dir" (files in the directory Dir, on one host or a mount
	// every process shares); the files' rows are in PostgreSQL either way.
	Store string   `mapstructure:"store"`
	S3    S3Config `mapstructure:"s3"`
	// Dir is the directory of files.store: dir.
	Dir string `mapstructure:"dir"`
}

// S3Config reaches the S3-compatible bucket of files.store: s3.
type S3Config struct {
	Endpoint        string `mapstructure:"endpoint"` // host[:port], no scheme
	Bucket          string `mapstructure:"bucket"`
	Region          string `mapstructure:"region"`
	Prefix          string `mapstructure:"prefix"` // put before every object key
	AccessKeyID     string `mapstructure:"access_key_id"`
	SecretAccessKey string `mapstructure:"secret_access_key"`
	// Insecure talks plain HTTP to the endpoint (a local MinIO).
	Insecure bool `mapstructure:"insecure"`
}

// ResumableConfig configures resumable uploads (POST /api/v1/uploads).
type ResumableConfig struct {
	// Expire is how long an unfinished upload is kept after its last
	// byte arrived; then it is deleted, and nothing of it stays.
	Expire time.Duration `mapstructure:"expire"`
}

// PrivacyConfig configures data exports, erasure and retention
// (internal/privacy).
type PrivacyConfig struct {
	// ExportTTL is how long a data export waits for its one download.
	ExportTTL time.Duration `mapstructure:"export_ttl"`
	// PurgeInterval is how often the retention purge runs.
	PurgeInterval time.Duration   `mapstructure:"purge_interval"`
	Retention     RetentionConfig `mapstructure:"retention"`
}

// RetentionConfig is how long each kind of personal data is kept; 0 keeps
// it until it is erased.
type RetentionConfig struct {
	// Sessions: sign-in records (address, browser) after sign-in.
	Sessions time.Duration `mapstructure:"sessions"`
	// Notifications: notices sent and their mail logs.
	Notifications time.Duration `mapstructure:"notifications"`
	// Actions: settled actions (applied, failed, rejected) and their input.
	Actions time.Duration `mapstructure:"actions"`
	// Files: uploads the source has held for this long.
	Files time.Duration `mapstructure:"files"`
	// Audit: the personal fields of audit events, crypto-shredded once a
	// subject has had no event for this long (the events stay in the chain).
	Audit time.Duration `mapstructure:"audit"`
}

// ClamdConfig points at the clamd that scans every upload.
type ClamdConfig struct {
	// Address is unix:/path/to/clamd.ctl or tcp:host:3310; empty turns
	// scanning off (serve, run and dev say so at start).
	Address string `mapstructure:"address"`
	// Timeout bounds one scan.
	Timeout time.Duration `mapstructure:"timeout"`
}

// Network splits Address into the dial network and address.
func (c ClamdConfig) Network() (network, address string, ok bool) {
	network, address, ok = strings.Cut(c.Address, ":")
	return network, address, ok && (network == "unix" || network == "tcp") && address != ""
}

// SigningConfig is the operator's sealing certificate, with which signed
// documents are sealed (internal/seal). Both files or neither: without
// them requests the mapping marks sign: true are approved unsigned, and
// serve says so at start. `portico dev` generates a self-signed one into
// dev.dir.
type SigningConfig struct {
	CertFile string `mapstructure:"cert_file"` // PEM: the certificate, then its issuers
	KeyFile  string `mapstructure:"key_file"`  // PEM: its private key (PKCS #8, PKCS #1 or EC)
}

// DevConfig configures `portico dev`.
type DevConfig struct {
	// Dir holds the private cluster and the dev.json/dev.yaml files.
	Dir string `mapstructure:"dir"`
	// Records is how many records the simulated sources are seeded with.
	Records int   `mapstructure:"records"`
	Seed    int64 `mapstructure:"seed"`
}

// Connection returns the named connection.
func (c *Config) Connection(name string) (ConnectionConfig, bool) {
	for _, conn := range c.Connections {
		if conn.Name == name {
			return conn, true
		}
	}
	return ConnectionConfig{}, false
}

// Connector is what the connector itself is given of the connection
// (connectors.Deps.Connection): no tuning, which is the HTTP client's.
func (c ConnectionConfig) Connector() connectors.Connection {
	return connectors.Connection{Name: c.Name, BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
		ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, AccessToken: c.AccessToken, Realm: c.Realm,
		WebhookSecret: c.WebhookSecret, Settings: c.Settings}
}

// ClientSettings is what the shared HTTP client is given of the connection
// (httpclient.Options.Connection): its name and tuning, which Load has
// completed with DefaultConnection.
func (c ConnectionConfig) ClientSettings() httpclient.Settings {
	return httpclient.Settings{
		Name:             c.Name,
		Quota:            httpclient.Quota{PerMinute: c.Quota.PerMinute, PerDay: c.Quota.PerDay, WriteShare: c.Quota.WriteShare},
		Breaker:          httpclient.Breaker{Failures: c.Breaker.Failures, OpenTimeout: c.Breaker.OpenTimeout},
		Retry:            httpclient.Retry{Max: c.Retry.Max, WaitMin: c.Retry.WaitMin, WaitMax: c.Retry.WaitMax},
		RequestTimeout:   c.RequestTimeout,
		MaxResponseBytes: c.MaxResponseBytes,
	}
}

// Error is a configuration error that names the key, and the file and line
// when the value came from a file. The CLI exits 2 on it.
type Error struct {
	Key  string
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of configuration errors, reported together.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// IsConfigError reports whether err is (or wraps) a configuration error.
func IsConfigError(err error) bool {
	var e *Error
	var es Errors
	return errors.As(err, &e) || errors.As(err, &es)
}

// Validate checks every value and returns all problems at once. A missing
// database URL is not an error here: commands that need one say so.
// connectionTypes are the connector types this build registers (the
// connector registry's Types()); a connection of any other type is an error.
func (c *Config) Validate(connectionTypes []string) error {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database_url", "must be a postgres:// URL")
		}
	}
	if r := c.Database.ReadURL; r != "" {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database.read_url", "must be a postgres:// URL of a streaming replica")
		} else if r == c.DatabaseURL {
			bad("database.read_url", "is database_url itself: name a replica of it, or leave read_url empty")
		}
	}
	if l := c.Database.MaxReplicaLag; l < 10*time.Millisecond || l > time.Hour {
		bad("database.max_replica_lag", "must be between 10ms and 1h; got %s", l)
	}
	if c.DatabaseMaxConns < 0 || c.DatabaseMaxConns > 10000 {
		bad("database_max_conns", "must be between 0 (sized from the worker counts) and 10000; got %d", c.DatabaseMaxConns)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text; got %q", c.Log.Format)
	}
	if e := c.Tracing.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("tracing.otlp_endpoint", "must be an http:// or https:// URL such as http://collector:4318; got %q", e)
		}
	}
	if r := c.Tracing.SampleRatio; r < 0 || r > 1 {
		bad("tracing.sample_ratio", "must be between 0 and 1; got %v", r)
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil || port == "" {
		bad("http.addr", "must be host:port such as 127.0.0.1:8080; got %q", c.HTTP.Addr)
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("http.public_url", "must be an absolute URL")
		}
	}
	for _, o := range c.HTTP.CORSOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			bad("http.cors_origins", "must list origins such as https://portal.example.com (no path, no *); got %q", o)
		}
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "must be a CIDR such as 10.0.0.0/8 or an address; got %q", p)
		}
	}
	if c.HTTP.PageCacheMB < 0 || c.HTTP.PageCacheMB > 65536 {
		bad("http.page_cache_mb", "must be between 0 (off) and 65536; got %d", c.HTTP.PageCacheMB)
	}
	positive := map[string]time.Duration{
		"http.read_timeout":             c.HTTP.ReadTimeout,
		"http.write_timeout":            c.HTTP.WriteTimeout,
		"http.idle_timeout":             c.HTTP.IdleTimeout,
		"http.shutdown_timeout":         c.HTTP.ShutdownTimeout,
		"river.fetch_cooldown":          c.River.FetchCooldown,
		"river.fetch_poll_interval":     c.River.FetchPollInterval,
		"river.soft_stop_timeout":       c.River.SoftStopTimeout,
		"river.rescue_stuck_jobs_after": c.River.RescueStuckJobsAfter,
		"notify.dedup_window":           c.Notify.DedupWindow,
		"notify.poll":                   c.Notify.Poll,
		"notify.scan_interval":          c.Notify.ScanInterval,
	}
	if c.Notify.Hold < 0 {
		bad("notify.hold", "must not be negative; got %s", c.Notify.Hold)
	}
	if c.Notify.Dispatchers < 1 || c.Notify.Dispatchers > 64 {
		bad("notify.dispatchers", "must be between 1 and 64; got %d", c.Notify.Dispatchers)
	}
	if c.Notify.DailyCap < 0 {
		bad("notify.daily_cap", "must be 0 (no cap) or more; got %d", c.Notify.DailyCap)
	}
	if c.Notify.DigestHour < 0 || c.Notify.DigestHour > 23 {
		bad("notify.digest_hour", "must be an hour from 0 to 23; got %d", c.Notify.DigestHour)
	}
	if c.Notify.WebhookMaxFailures < 1 {
		bad("notify.webhook_max_failures", "must be at least 1; got %d", c.Notify.WebhookMaxFailures)
	}
	for _, key := range sortedKeys(positive) {
		if positive[key] <= 0 {
			bad(key, "must be a positive duration such as 5s; got %s", positive[key])
		}
	}
	if c.River.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.River.MetricsAddr); err != nil || port == "" {
			bad("river.metrics_addr", "must be host:port such as 127.0.0.1:9090; got %q", c.River.MetricsAddr)
		}
	}
	if c.River.FetchCooldown > c.River.FetchPollInterval {
		bad("river.fetch_cooldown", "must not exceed river.fetch_poll_interval")
	}
	workers := map[string]int{
		"river.sync_workers":      c.River.SyncWorkers,
		"river.writeback_workers": c.River.WritebackWorkers,
		"river.notify_workers":    c.River.NotifyWorkers,
		"river.default_workers":   c.River.DefaultWorkers,
	}
	for _, key := range sortedKeys(workers) {
		if n := workers[key]; n < 1 || n > 10000 {
			bad(key, "must be between 1 and 10000; got %d", n)
		}
	}
	validateAuth(c, bad)
	validateFiles(c.Files, bad)
	if (c.Signing.CertFile == "") != (c.Signing.KeyFile == "") {
		// Named by the key that is set, whose line is known.
		if c.Signing.CertFile == "" {
			bad("signing.key_file", "needs signing.cert_file (the certificate of this key)")
		} else {
			bad("signing.cert_file", "needs signing.key_file (its private key)")
		}
	}
	validatePrivacy(c.Privacy, bad)
	if k := c.Secrets.EncryptionKey; k != "" && !is32Base64(k) {
		bad("secrets.encryption_key", "must be 32 random bytes, base64 encoded (e.g. openssl rand -base64 32)")
	}
	if c.Mail.SMTPURL != "" {
		u, err := url.Parse(c.Mail.SMTPURL)
		switch {
		case err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "":
			bad("mail.smtp_url", "must be smtp://user:password@host:587 or smtps://user:password@host:465")
		case u.Port() == "":
			bad("mail.smtp_url", "must name the port (587 for smtp, 465 for smtps)")
		}
		if _, err := mail.ParseAddress(c.Mail.From); err != nil || c.Mail.From == "" {
			bad("mail.from", "must be the sender's email address when mail.smtp_url is set; got %q", c.Mail.From)
		}
	}
	validateBrand(&c.Brand, bad)
	if c.Admin.Token != "" && len(c.Admin.Token) < 16 {
		bad("admin.token", "must be at least 16 characters")
	}
	seen := map[string]bool{}
	for i, conn := range c.Connections {
		key := fmt.Sprintf("connections[%d]", i)
		switch {
		case conn.Name == "":
			bad(key+".name", "is required")
		case seen[conn.Name]:
			bad(key+".name", "duplicate connection name %q", conn.Name)
		}
		seen[conn.Name] = true
		if !contains(connectionTypes, conn.Type) {
			bad(key+".type", "must be one of %s; got %q", strings.Join(connectionTypes, ", "), conn.Type)
		}
		if u, err := url.Parse(conn.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad(key+".base_url", "must be an absolute URL; got %q", conn.BaseURL)
		}
		if u, err := url.Parse(conn.AuthURL); conn.AuthURL != "" && (err != nil || u.Scheme == "" || u.Host == "") {
			bad(key+".auth_url", "must be an absolute URL; got %q", conn.AuthURL)
		}
		if u, err := url.Parse(conn.RedirectURL); conn.RedirectURL != "" && (err != nil || u.Scheme != "http" || u.Host == "") {
			bad(key+".redirect_url", "must be an http:// URL on this machine, e.g. http://127.0.0.1:8765/callback; got %q", conn.RedirectURL)
		}
		if conn.Quota.PerMinute < 0 || conn.Quota.PerDay < 0 {
			bad(key+".quota", "per_minute and per_day must not be negative")
		}
		if conn.Quota.WriteShare < 0 || conn.Quota.WriteShare >= 1 {
			bad(key+".quota.write_share", "must be at least 0 and below 1; got %g", conn.Quota.WriteShare)
		}
		if conn.Breaker.Failures < 1 {
			bad(key+".breaker.failures", "must be at least 1")
		}
		if conn.Breaker.OpenTimeout <= 0 {
			bad(key+".breaker.open_timeout", "must be a positive duration")
		}
		if conn.RequestTimeout <= 0 {
			bad(key+".request_timeout", "must be a positive duration")
		}
		if conn.MaxResponseBytes <= 0 {
			bad(key+".max_response_bytes", "must be positive")
		}
		if conn.Retry.Max < 0 || conn.Retry.WaitMin <= 0 || conn.Retry.WaitMax < conn.Retry.WaitMin {
			bad(key+".retry", "needs max >= 0 and 0 < wait_min <= wait_max")
		}
		validateWebhook(key, conn, bad)
	}
	if c.Sync.Interval < 0 {
		bad("sync.interval", "must not be negative (0: from each object's freshness); got %s", c.Sync.Interval)
	}
	syncDurations := map[string]time.Duration{
		"sync.reconcile_interval":  c.Sync.ReconcileInterval,
		"sync.tombstone_retention": c.Sync.TombstoneRetention,
		"sync.slow_interval":       c.Sync.SlowInterval,
		"sync.fresh_timeout":       c.Sync.FreshTimeout,
	}
	for _, key := range sortedKeys(syncDurations) {
		if syncDurations[key] <= 0 {
			bad(key, "must be a positive duration; got %s", syncDurations[key])
		}
	}
	for _, obj := range sortedKeys(c.Sync.Intervals) {
		if c.Sync.Intervals[obj] <= 0 {
			bad("sync.intervals."+obj, "must be a positive duration; got %s", c.Sync.Intervals[obj])
		}
	}
	if c.Sync.PageSize < 1 || c.Sync.PageSize > 10000 {
		bad("sync.page_size", "must be between 1 and 10000; got %d", c.Sync.PageSize)
	}
	if c.Sync.QuotaLease < 1 || c.Sync.QuotaLease > 100 {
		bad("sync.quota_lease", "must be between 1 and 100; got %d", c.Sync.QuotaLease)
	}
	if c.Sync.QuotaFloor < 0 || c.Sync.QuotaFloor >= 1 {
		bad("sync.quota_floor", "must be at least 0 and below 1; got %g", c.Sync.QuotaFloor)
	}
	if c.Dev.Records < 0 || c.Dev.Records > 1_000_000 {
		bad("dev.records", "must be between 0 and 1000000; got %d", c.Dev.Records)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func validateAuth(c *Config, bad func(key, format string, args ...any)) {
	if t := c.Auth.Throttle; t.PerEmail < 1 || t.PerEmail > 1000 {
		bad("auth.throttle.per_email", "must be between 1 and 1000 failures; got %d", t.PerEmail)
	}
	if t := c.Auth.Throttle; t.PerIP < 1 || t.PerIP > 100000 {
		bad("auth.throttle.per_ip", "must be between 1 and 100000 failures; got %d", t.PerIP)
	}
	if t := c.Auth.Throttle; t.Window < time.Minute || t.Window > 24*time.Hour {
		bad("auth.throttle.window", "must be between 1m and 24h; got %s", t.Window)
	}
	a := c.Auth
	if a.SessionIdleTimeout <= 0 {
		bad("auth.session_idle_timeout", "must be a positive duration such as 30m; got %s", a.SessionIdleTimeout)
	}
	if a.SessionLifetime <= 0 {
		bad("auth.session_lifetime", "must be a positive duration such as 12h; got %s", a.SessionLifetime)
	} else if a.SessionIdleTimeout > a.SessionLifetime {
		bad("auth.session_idle_timeout", "must not exceed auth.session_lifetime (%s)", a.SessionLifetime)
	}
	if !contains(UnknownOIDCEmailModes, a.UnknownOIDCEmail) {
		bad("auth.unknown_oidc_email", "must be refuse or match_contact; got %q", a.UnknownOIDCEmail)
	}
	o := a.OIDC
	if o.IssuerURL == "" {
		if o.TrustEmailWithoutVerifiedClaim {
			bad("auth.oidc.trust_email_without_verified_claim", "is set but auth.oidc.issuer_url is empty: single sign-on is off")
		}
		return
	}
	if u, err := url.Parse(o.IssuerURL); err != nil || u.Scheme == "" || u.Host == "" {
		bad("auth.oidc.issuer_url", "must be an absolute URL; got %q", o.IssuerURL)
	}
	if o.ClientID == "" {
		bad("auth.oidc.client_id", "is required when auth.oidc.issuer_url is set")
	}
	switch {
	case o.RedirectURL != "":
		if u, err := url.Parse(o.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("auth.oidc.redirect_url", "must be an absolute URL; got %q", o.RedirectURL)
		}
	case c.HTTP.PublicURL == "":
		bad("auth.oidc.redirect_url", "is required when http.public_url is empty")
	}
}

// validateBrand checks the brand's fields (colours normalized to
// #rrggbb in b), and that the logo file is one.
func validateBrand(b *BrandConfig, bad func(key, format string, args ...any)) {
	br := b.Brand()
	for _, e := range br.Check() {
		bad("brand."+e.Field, "%s", e.Msg)
	}
	b.PrimaryColor, b.AccentColor = br.PrimaryColor, br.AccentColor
	if b.PrimaryColor == "" {
		bad("brand.primary_color", "is required")
	}
	if b.AccentColor == "" {
		bad("brand.accent_color", "is required")
	}
	switch {
	case b.Logo != "" && b.LogoURL != "":
		bad("brand.logo_url", "is set beside brand.logo: give one")
	case b.Logo != "":
		if _, err := b.ReadLogo(); err != nil {
			bad("brand.logo", "%v", err)
		}
	case b.LogoURL != "":
		if err := brand.CheckLogoURL(b.LogoURL); err != nil {
			bad("brand.logo_url", "%v", err)
		}
	}
}

func validatePrivacy(p PrivacyConfig, bad func(key, format string, args ...any)) {
	if p.ExportTTL < time.Minute {
		bad("privacy.export_ttl", "must be at least 1m; got %s", p.ExportTTL)
	}
	if p.PurgeInterval < time.Minute {
		bad("privacy.purge_interval", "must be at least 1m; got %s", p.PurgeInterval)
	}
	for _, r := range []struct {
		key string
		d   time.Duration
	}{{"sessions", p.Retention.Sessions}, {"notifications", p.Retention.Notifications}, {"actions", p.Retention.Actions},
		{"files", p.Retention.Files}, {"audit", p.Retention.Audit}} {
		if r.d < 0 || (r.d > 0 && r.d < time.Hour) {
			bad("privacy.retention."+r.key, "must be 0 (keep until erased) or at least 1h; got %s", r.d)
		}
	}
}

func validateFiles(f FilesConfig, bad func(key, format string, args ...any)) {
	if f.MaxMB < 1 || f.MaxMB > 10240 {
		bad("files.max_mb", "must be between 1 and 10240 MiB; got %d", f.MaxMB)
	}
	for obj, types := range f.Types {
		for i, t := range types {
			if mt, _, err := mime.ParseMediaType(t); err != nil || mt != strings.ToLower(t) || !strings.Contains(mt, "/") {
				bad(fmt.Sprintf("files.types.%s[%d]", obj, i), "must be a content type such as application/pdf, without parameters; got %q", t)
			}
		}
	}
	if _, _, ok := f.Clamd.Network(); f.Clamd.Address != "" && !ok {
		bad("files.clamd.address", "must be unix:/path/to/clamd.ctl or tcp:host:port; got %q", f.Clamd.Address)
	}
	if f.Clamd.Timeout <= 0 {
		bad("files.clamd.timeout", "must be a positive duration such as 2m; got %s", f.Clamd.Timeout)
	}
	switch f.Store {
	case "postgres":
	case "s3":
		if f.S3.Endpoint == "" || strings.Contains(f.S3.Endpoint, "://") {
			bad("files.s3.endpoint", "must be host[:port] without a scheme when files.store is s3; got %q", f.S3.Endpoint)
		}
		if f.S3.Bucket == "" {
			bad("files.s3.bucket", "is required when files.store is s3")
		}
	case "dir":
		if f.Dir == "" {
			bad("files.dir", "is required when files.store is dir: the directory file content is kept in")
		}
	default:
		bad("files.store", "must be postgres, s3 or dir; got %q", f.Store)
	}
	if f.Resumable.Expire < time.Minute {
		bad("files.resumable.expire", "must be a duration of at least 1m such as 24h; got %s", f.Resumable.Expire)
	}
}

// validateWebhook checks what verifies a Salesforce connection's outbound
// messages: the secret travels in the endpoint path, so it must be long and
// URL-safe, and the org id is compared exactly.
func validateWebhook(key string, conn ConnectionConfig, bad func(key, format string, args ...any)) {
	if conn.Type != "salesforce" {
		return
	}
	if s := conn.WebhookSecret; s != "" && (len(s) < 16 || strings.Trim(s, urlSafe) != "") {
		bad(key+".webhook_secret", "must be at least 16 characters of A-Z a-z 0-9 - . _ ~ (it is part of the endpoint URL /hooks/%s/<secret>)", conn.Name)
	}
	if r := conn.Realm; r != "" && ((len(r) != 15 && len(r) != 18) || !strings.HasPrefix(r, "00D") || strings.Trim(r, alnum) != "") {
		bad(key+".realm", "must be the Salesforce organization id, 15 or 18 letters and digits starting with 00D; got %q", r)
	}
	if conn.WebhookSecret != "" && conn.Realm == "" {
		bad(key+".realm", "is required with webhook_secret: outbound messages must name this organization id")
	}
}

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	urlSafe = alnum + "-._~"
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func is32Base64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return len(k) == 32
		}
	}
	return false
}

// ParsePrefix reads one http.trusted_proxies entry: a CIDR, or a single
// address standing for itself. IPv4-mapped IPv6 forms are unmapped, as
// the peer addresses they are compared with are.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("config: %q is not a CIDR or an address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
