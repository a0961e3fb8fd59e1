package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/config"
)

// connTypes are the binary's connection types, from its registry.
var connTypes = builtin.Registry().Types()

// TestConnectionTypesComeFromTheRegistry: config keeps no list of its own;
// a type is valid when the registry passed in has it, and only then.
func TestConnectionTypesComeFromTheRegistry(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "connections:\n  - name: books\n    type: erp\n    base_url: https://erp.example\n")
	cfg, err := config.Load(config.Options{File: file, Env: []string{}, ConnectionTypes: []string{"erp"}})
	require.NoError(t, err)
	require.Equal(t, "erp", cfg.Connections[0].Type)
	_, err = config.Load(config.Options{File: file, Env: []string{}, ConnectionTypes: connTypes})
	require.ErrorContains(t, err, "connections[0].type: must be one of accounting, inventory, salesforce; got \"erp\"")
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portico.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func flagSet(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("http-addr", "", "")
	require.NoError(t, fs.SetAnnotation("http-addr", config.FlagKey, []string{"http.addr"}))
	fs.String("log-level", "", "")
	require.NoError(t, fs.SetAnnotation("log-level", config.FlagKey, []string{"log.level"}))
	require.NoError(t, fs.Parse(args))
	return fs
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "http:\n  addr: 127.0.0.1:1001\n  read_timeout: 3s\nlog:\n  level: warn\nriver:\n  sync_workers: 7\n")

	// The file beats the defaults.
	cfg, err := config.Load(config.Options{ConnectionTypes: connTypes, File: file, Env: []string{}})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1001", cfg.HTTP.Addr)
	require.Equal(t, 3*time.Second, cfg.HTTP.ReadTimeout)
	require.Equal(t, 7, cfg.River.SyncWorkers)
	require.Equal(t, config.Default().HTTP.WriteTimeout, cfg.HTTP.WriteTimeout, "unset keys keep defaults")

	// The environment beats the file.
	env := []string{"PORTICO_HTTP_ADDR=127.0.0.1:1002", "PORTICO_LOG_LEVEL=error", "HOME=/x"}
	cfg, err = config.Load(config.Options{ConnectionTypes: connTypes, File: file, Env: env})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1002", cfg.HTTP.Addr)
	require.Equal(t, "error", cfg.Log.Level)
	require.Equal(t, 7, cfg.River.SyncWorkers, "env leaves other file keys alone")

	// Flags beat the environment; unset flags do not.
	cfg, err = config.Load(config.Options{ConnectionTypes: connTypes, File: file, Env: env, Flags: flagSet(t, "--http-addr", "127.0.0.1:1003")})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1003", cfg.HTTP.Addr)
	require.Equal(t, "error", cfg.Log.Level)
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		env        []string
		want       []string
	}{
		{
			name: "unknown key with its line",
			file: "log:\n  level: info\nhttp:\n  adr: 127.0.0.1:8080\n",
			want: []string{":4: http.adr: unknown key", "known keys:", "addr"},
		},
		{
			name: "bad duration with its line",
			file: "http:\n  addr: 127.0.0.1:8080\n  read_timeout: soon\n",
			want: []string{":3: http.read_timeout: bad value", "soon"},
		},
		{
			name: "bad enum with its line",
			file: "log:\n  format: xml\n",
			want: []string{":2: log.format: must be json or text"},
		},
		{
			name: "bad tracing settings with their lines",
			file: "tracing:\n  otlp_endpoint: collector:4318\n  sample_ratio: 1.5\n",
			want: []string{":2: tracing.otlp_endpoint: must be an http:// or https:// URL", ":3: tracing.sample_ratio: must be between 0 and 1"},
		},
		{
			name: "bad replica settings with their lines",
			file: "database:\n  read_url: mysql://replica/portico\n  max_replica_lag: 2h\n",
			want: []string{":2: database.read_url: must be a postgres:// URL", ":3: database.max_replica_lag: must be between 10ms and 1h"},
		},
		{
			name: "replica that is the primary",
			file: "database_url: postgres://db/portico\ndatabase:\n  read_url: postgres://db/portico\n",
			want: []string{":3: database.read_url: is database_url itself"},
		},
		{
			name: "bad connection entry",
			file: "connections:\n  - name: crm\n    type: sap\n    base_url: not a url\n",
			want: []string{"connections[0].type: must be one of accounting, inventory, salesforce", "connections[0].base_url: must be an absolute URL"},
		},
		{
			name: "unknown key inside a connection",
			file: "connections:\n  - name: crm\n    type: salesforce\n    base_url: https://x.example\n    secret: s\n",
			want: []string{":5: connections[0].secret: unknown key"},
		},
		{
			name: "bad mail settings with their lines",
			file: "mail:\n  smtp_url: http://mail.example.com\n  from: nobody\n",
			want: []string{":2: mail.smtp_url: must be smtp://", ":3: mail.from: must be the sender's email address"},
		},
		{
			name: "bad login throttle",
			file: "auth:\n  throttle:\n    per_email: 0\n    window: 10s\n",
			want: []string{":3: auth.throttle.per_email: must be between 1 and 1000", ":4: auth.throttle.window: must be between 1m and 24h"},
		},
		{
			name: "bad upload settings with their lines",
			file: "files:\n  max_mb: 0\n  types:\n    invoice: [application/pdf, PDF]\n  clamd:\n    address: localhost:3310\n",
			want: []string{":2: files.max_mb: must be between 1 and 10240", "files.types.invoice[1]: must be a content type", ":6: files.clamd.address: must be unix:"},
		},
		{
			name: "bad worker metrics address with its line",
			file: "river:\n  metrics_addr: localhost\n",
			want: []string{":2: river.metrics_addr: must be host:port"},
		},
		{
			name: "a sealing certificate without its key",
			file: "signing:\n  cert_file: seal.pem\n",
			want: []string{":2: signing.cert_file: needs signing.key_file"},
		},
		{
			name: "bad trusted proxy named by its entry and line",
			file: "http:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n    - proxy.internal\n",
			want: []string{":4: http.trusted_proxies[1]: must be a CIDR", ":5: http.trusted_proxies[2]: must be a CIDR", `"proxy.internal"`},
		},
		{
			name: "oidc email trust without a provider",
			file: "auth:\n  oidc:\n    trust_email_without_verified_claim: true\n",
			want: []string{":3: auth.oidc.trust_email_without_verified_claim: is set but auth.oidc.issuer_url is empty"},
		},
		{
			name: "oidc email trust that is not a boolean",
			file: "auth:\n  oidc:\n    issuer_url: https://id.example\n    client_id: portal\n    redirect_url: https://portal.example/auth/oidc/callback\n    trust_email_without_verified_claim: sometimes\n",
			want: []string{":6: auth.oidc.trust_email_without_verified_claim"},
		},
		{
			name: "smtp url without a port",
			file: "mail:\n  smtp_url: smtp://mail.example.com\n  from: portal@example.com\n",
			want: []string{":2: mail.smtp_url: must name the port"},
		},
		{
			name: "salesforce webhook secret that cannot be a path segment, and a prefix for an org id",
			file: "connections:\n  - name: crm\n    type: salesforce\n    base_url: https://x.example\n    realm: 00D\n    webhook_secret: short/secret\n",
			want: []string{"connections[0].webhook_secret: must be at least 16 characters", "/hooks/crm/<secret>",
				"connections[0].realm: must be the Salesforce organization id, 15 or 18"},
		},
		{
			name: "salesforce webhook secret without the org id",
			file: "connections:\n  - name: crm\n    type: salesforce\n    base_url: https://x.example\n    webhook_secret: 0123456789abcdef-0123\n",
			want: []string{"connections[0].realm: is required with webhook_secret"},
		},
		{
			name: "brand colours under WCAG AA contrast, named with the pair and ratio",
			file: "brand:\n  name: Acme\n  primary_color: \"#7fbfff\"\n  accent_color: \"#767676\"\n",
			want: []string{":3: brand.primary_color: primary #7fbfff on white: contrast 1.9:1, WCAG AA needs 4.5:1",
				":4: brand.accent_color: accent #767676 on the status box grey #f3f4f6: contrast 4.1:1, WCAG AA needs 4.5:1"},
		},
		{
			name: "bad brand contact and a logo that is not an image",
			file: "brand:\n  support_email: help\n  support_url: ftp://help.example\n  logo: " + notImage + "\n",
			want: []string{":2: brand.support_email: must be an email address", ":3: brand.support_url: must be an http(s) URL",
				":4: brand.logo: the logo must be a PNG, SVG, WebP or JPEG image; this is text/plain"},
		},
		{
			name: "two logos",
			file: "brand:\n  logo: " + notImage + "\n  logo_url: https://cdn.example/logo.png\n",
			want: []string{":3: brand.logo_url: is set beside brand.logo"},
		},
		{
			name: "unknown environment variable",
			env:  []string{"PORTICO_HTTP_ADRESS=x"},
			want: []string{"PORTICO_HTTP_ADRESS: unknown environment variable"},
		},
		{
			name: "bad value from the environment",
			env:  []string{"PORTICO_RIVER_SYNC_WORKERS=0"},
			want: []string{"river.sync_workers: must be between 1 and 10000"},
		},
		{
			name: "malformed yaml",
			file: "http:\n  addr: [\n",
			want: []string{"yaml:"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := config.Options{ConnectionTypes: connTypes, Env: tc.env}
			if opts.Env == nil {
				opts.Env = []string{}
			}
			if tc.file != "" {
				opts.File = writeFile(t, tc.file)
			}
			cfg, err := config.Load(opts)
			require.Error(t, err)
			require.Nil(t, cfg)
			require.True(t, config.IsConfigError(err), "%T is a config error (exit 2)", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// notImage is a text file named as a logo.
var notImage = func() string {
	dir, err := os.MkdirTemp("", "brand")
	if err != nil {
		panic(err)
	}
	p := filepath.Join(dir, "logo.png")
	if err := os.WriteFile(p, []byte("not a picture\n"), 0o600); err != nil {
		panic(err)
	}
	return p
}()

func TestBrandFromConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	require.NoError(t, os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>`), 0o600))
	cfg, err := config.Load(config.Options{ConnectionTypes: connTypes, Env: []string{"PORTICO_BRAND_NAME=Acme Service"},
		File: writeFile(t, "brand:\n  primary_color: \"#0B5394\"\n  support_email: help@acme.example\n  logo: "+logo+"\n")})
	require.NoError(t, err)
	require.Equal(t, "Acme Service", cfg.Brand.Name)
	require.Equal(t, "#0b5394", cfg.Brand.PrimaryColor, "normalized")
	require.Equal(t, "#0f766e", cfg.Brand.AccentColor, "the default")
	l, err := cfg.Brand.ReadLogo()
	require.NoError(t, err)
	require.Equal(t, "image/svg+xml", l.Type)
}

func TestMissingFileIsAnError(t *testing.T) {
	t.Parallel()
	_, err := config.Load(config.Options{ConnectionTypes: connTypes, File: filepath.Join(t.TempDir(), "nope.yaml"), Env: []string{}})
	require.Error(t, err)
	require.True(t, config.IsConfigError(err))
	require.Contains(t, err.Error(), "nope.yaml")
}

// loadCRM loads a file that configures one connection, crm, with extra
// (indented YAML) beside its name, type and base URL.
func loadCRM(t *testing.T, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Options{
		ConnectionTypes: connTypes,
		File:            writeFile(t, "connections:\n  - name: crm\n    type: salesforce\n    base_url: https://x.example\n"+extra),
		Env:             []string{},
	})
	require.NoError(t, err)
	return cfg
}

func TestConnectionDefaults(t *testing.T) {
	t.Parallel()
	cfg := loadCRM(t, "    breaker:\n      failures: 3\n")
	conn, ok := cfg.Connection("crm")
	require.True(t, ok)
	require.Equal(t, 3, conn.Breaker.Failures)
	require.Equal(t, 30*time.Second, conn.Breaker.OpenTimeout)
	require.InDelta(t, 0.2, conn.Quota.WriteShare, 1e-9)
}

// zeroMeansSomething are the keys whose empty value is a setting of its
// own (off, none, derived elsewhere), each said so in the example config.
// Every other key is filled by Load, so no consumer needs a default of
// its own.
var zeroMeansSomething = map[string]bool{
	"database_url": true, "database_max_conns": true, // dev cluster; sized from the workers
	"database.read_url": true, // no replica: every read goes to database_url
	"http.public_url":   true, "http.cors_origins": true, "http.trusted_proxies": true,
	"admin.token":          true,
	"river.metrics_addr":   true, // a worker serves no metrics
	"auth.oidc.issuer_url": true, "auth.oidc.client_id": true, "auth.oidc.client_secret": true,
	"auth.oidc.redirect_url": true, "auth.oidc.trust_email_without_verified_claim": true,
	"mail.smtp_url": true, "mail.from": true,
	// The catalogs' name; no contact; no logo.
	"brand.name": true, "brand.support_email": true, "brand.support_phone": true, "brand.support_url": true,
	"brand.logo": true, "brand.logo_url": true,
	"secrets.encryption_key":         true,
	"notify.webhook_private_targets": true, // public receivers only
	"sync.intervals":                 true,
	"mappings.dir":                   true,
	"files.types":                    true, // files.DefaultTypes
	"files.clamd.address":            true, // scanning off
	"files.dir":                      true, // used only with files.store: dir
	"signing.cert_file":              true, // no sealing certificate: approvals unsigned
	"signing.key_file":               true,
	"sync.interval":                  true, // each object's from its freshness target
	// Used only with files.store: s3, where the operator gives them.
	"files.s3.endpoint": true, "files.s3.bucket": true, "files.s3.region": true, "files.s3.prefix": true,
	"files.s3.access_key_id": true, "files.s3.secret_access_key": true, "files.s3.insecure": true,
	// A connection's credentials and endpoints are the operator's; a zero
	// call budget is no budget.
	"connections[].token_url": true, "connections[].auth_url": true, "connections[].client_id": true, "connections[].client_secret": true,
	"connections[].refresh_token": true, "connections[].access_token": true, "connections[].realm": true,
	"connections[].webhook_secret": true, "connections[].quota.per_minute": true, "connections[].quota.per_day": true,
	"connections[].settings": true, // empty: the connector's defaults
	"notify.rules":           true, // empty: the built-in rules
	"tracing.otlp_endpoint":  true, // empty: tracing off
}

// TestLoadedConfigCarriesEveryDefault: after Load, every key but those
// whose zero value means something is set, so the consumers (auth, the
// HTTP client, sources, the syncer) validate what they are given and fill
// nothing themselves; and what the HTTP client is given is accepted.
func TestLoadedConfigCarriesEveryDefault(t *testing.T) {
	t.Parallel()
	cfg := loadCRM(t, "")
	var zero []string
	var walk func(key string, v reflect.Value)
	walk = func(key string, v reflect.Value) {
		switch {
		case v.Kind() == reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				tag := v.Type().Field(i).Tag.Get("mapstructure")
				if key != "" {
					tag = key + "." + tag
				}
				walk(tag, v.Field(i))
			}
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
			require.Equal(t, 1, v.Len(), key)
			walk(key+"[]", v.Index(0))
		case v.IsZero() && !zeroMeansSomething[key]:
			zero = append(zero, key)
		}
	}
	walk("", reflect.ValueOf(*cfg))
	require.Empty(t, zero, "keys Load leaves unset: give them a default in Default or DefaultConnection")

	_, err := httpclient.New(httpclient.Options{Connection: cfg.Connections[0]})
	require.NoError(t, err, "the HTTP client accepts a loaded connection as it is")
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DatabaseURL = "postgres://app:hunter2@db.example/portico"
	cfg.Database.ReadURL = "postgres://app:replica-pass@replica.example/portico"
	cfg.Admin.Token = "0123456789abcdef0123"
	cfg.Mail.SMTPURL = "smtp://portal:smtp-pass@mail.example:587"
	cfg.Connections = []config.ConnectionConfig{{Name: "crm", ClientSecret: "s3cret", RefreshToken: "rt"}}
	out, err := cfg.Redacted().YAML()
	require.NoError(t, err)
	require.Contains(t, string(out), "mail.example:587", "the rest of the SMTP URL stays readable")
	for _, secret := range []string{"hunter2", "replica-pass", "0123456789abcdef0123", "s3cret", "rt\n", "smtp-pass"} {
		require.NotContains(t, string(out), secret)
	}
	require.Contains(t, string(out), "read_timeout: 15s", "durations print the way the file takes them")
	require.Equal(t, "s3cret", cfg.Connections[0].ClientSecret, "the original is untouched")
}

// TestExampleDocumentsEveryKey keeps config/portico.example.yaml in step
// with the Config struct: every key is there, and the file loads.
func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../config/portico.example.yaml")
	require.NoError(t, err)

	_, err = config.Load(config.Options{ConnectionTypes: connTypes, File: "../../config/portico.example.yaml", Env: []string{}})
	require.NoError(t, err, "the example loads as it is")

	// The connection entry is documented commented out; uncomment it.
	text := string(raw)
	start, end := strings.Index(text, "connections: []"), strings.Index(text, "\ndev:")
	require.True(t, start > 0 && end > start, "the example has a connections block before dev")
	commented := regexp.MustCompile(`(?m)^# ([- ] .*|  .*)$`)
	uncommented := text[:start] + "connections:" + commented.ReplaceAllString(text[start+len("connections: []"):end], "$1") + text[end:]
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(uncommented), &doc), uncommented)
	documented := map[string]bool{}
	collectKeys("", doc.Content[0], documented)

	var missing []string
	for _, key := range config.LeafKeys() {
		if !documented[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "keys missing from config/portico.example.yaml")
}

func collectKeys(prefix string, n *yaml.Node, out map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			out[key] = true
			collectKeys(key, n.Content[i+1], out)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			collectKeys(prefix+"[]", item, out)
		}
	}
}

func TestSalesforceWebhookSettings(t *testing.T) {
	t.Parallel()
	for _, realm := range []string{"00D7F00000107Xs", "00D7F00000107XsUAI"} {
		cfg, err := config.Load(config.Options{
			ConnectionTypes: connTypes,
			File:            writeFile(t, "connections:\n  - name: crm\n    type: salesforce\n    base_url: https://x.example\n    realm: "+realm+"\n    webhook_secret: Zx8_kq2-Lm4.pQ7~rT9wV1yA\n"),
			Env:             []string{},
		})
		require.NoError(t, err, realm)
		conn, _ := cfg.Connection("crm")
		require.Equal(t, realm, conn.Realm)
	}
	// Other sources sign their notices: their secret is a vendor's key.
	_, err := config.Load(config.Options{
		ConnectionTypes: connTypes,
		File:            writeFile(t, "connections:\n  - name: qb\n    type: accounting\n    base_url: https://x.example\n    webhook_secret: a/b\n"),
		Env:             []string{},
	})
	require.NoError(t, err)
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Options{ConnectionTypes: connTypes, File: writeFile(t, "http:\n  trusted_proxies: [10.0.0.0/8, \"2001:db8::/32\"]\n"), Env: []string{}})
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.0/8", "2001:db8::/32"}, cfg.HTTP.TrustedProxies)
	require.Empty(t, config.Default().HTTP.TrustedProxies, "no proxy is trusted by default")

	cfg, err = config.Load(config.Options{ConnectionTypes: connTypes, Env: []string{"PORTICO_HTTP_TRUSTED_PROXIES=10.1.0.0/16,192.0.2.7"}})
	require.NoError(t, err)
	require.Equal(t, []string{"10.1.0.0/16", "192.0.2.7"}, cfg.HTTP.TrustedProxies)

	p, err := config.ParsePrefix("192.0.2.7")
	require.NoError(t, err)
	require.Equal(t, "192.0.2.7/32", p.String(), "an address stands for itself")
	p, err = config.ParsePrefix("::ffff:10.0.0.0/104")
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/8", p.String())
}

// TestTestSuiteVariablesAreNotConfig: the test suite's PORTICO_ variables
// (CI exports PORTICO_REQUIRE_BROWSER, PORTICO_REQUIRE_CLAMD and
// PORTICO_REQUIRE_POPPLER for the whole run) are not refused as unknown keys, while a misspelt key still is.
func TestTestSuiteVariablesAreNotConfig(t *testing.T) {
	env := []string{"PORTICO_REQUIRE_BROWSER=1", "PORTICO_SCREENSHOTS=shots", "PORTICO_CHROMIUM=/usr/bin/chromium",
		"PORTICO_REQUIRE_CLAMD=1", "PORTICO_CLAMD=/usr/sbin/clamd", "PORTICO_REQUIRE_POPPLER=1", "PORTICO_REQUIRE_PDFSIG=1", "PORTICO_REQUIRE_PGBOUNCER=1", "PORTICO_CHAOS_RECORDS=100", "PORTICO_WRITEBACK_CHAOS_ACTIONS=10"}
	_, err := config.Load(config.Options{ConnectionTypes: connTypes, Env: env})
	require.NoError(t, err)
	_, err = config.Load(config.Options{ConnectionTypes: connTypes, Env: append(env, "PORTICO_SCREENSHOT=shots")})
	require.ErrorContains(t, err, "PORTICO_SCREENSHOT: unknown environment variable")
}
