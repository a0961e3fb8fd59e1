package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/internal/brand"
)

// DefaultFile is read when --config is not given and the file exists.
const DefaultFile = "config/portico.yaml"

// EnvPrefix prefixes every environment variable: PORTICO_HTTP_ADDR sets
// http.addr.
const EnvPrefix = "PORTICO"

// FlagKey is the pflag annotation that binds a flag to a config key.
const FlagKey = "portico_config_key"

// Default returns the configuration used where nothing else is set.
func Default() Config {
	return Config{
		Database: DatabaseConfig{MaxReplicaLag: 5 * time.Second},
		Log:      LogConfig{Level: "info", Format: "text"},
		Tracing:  TracingConfig{SampleRatio: 1, ServiceName: "portico"},
		HTTP: HTTPConfig{
			Addr:            "127.0.0.1:8080",
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     120 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			PageCacheMB:     64,
		},
		Brand: BrandConfig{PrimaryColor: brand.DefaultPrimary, AccentColor: brand.DefaultAccent},
		Auth: AuthConfig{
			SessionIdleTimeout: 30 * time.Minute,
			SessionLifetime:    12 * time.Hour,
			UnknownOIDCEmail:   "refuse",
			Cache:              true,
			Throttle:           ThrottleConfig{PerEmail: 5, PerIP: 50, Window: 15 * time.Minute},
		},
		Notify: NotifyConfig{Hold: time.Second, DedupWindow: time.Minute, DailyCap: 20, DigestHour: 8,
			Poll: time.Second, Dispatchers: 4, ScanInterval: 15 * time.Minute, WebhookMaxFailures: 10},
		River: RiverConfig{
			SyncWorkers:      10,
			WritebackWorkers: 20,
			NotifyWorkers:    5,
			DefaultWorkers:   5,
			// River's defaults (100ms cooldown, 1s poll) leave a job waiting
			// up to a second when LISTEN/NOTIFY is unavailable; customer
			// write-backs want tens of milliseconds. `portico bench river`
			// measures the difference.
			FetchCooldown:        20 * time.Millisecond,
			FetchPollInterval:    200 * time.Millisecond,
			SoftStopTimeout:      10 * time.Second,
			RescueStuckJobsAfter: 3 * time.Hour,
		},
		Sync: SyncConfig{
			Interval:           0,
			ReconcileInterval:  6 * time.Hour,
			TombstoneRetention: 30 * 24 * time.Hour,
			PageSize:           2000,
			QuotaFloor:         0.1,
			SlowInterval:       10 * time.Minute,
			FreshTimeout:       3 * time.Second,
			QuotaLease:         10,
		},
		Files: FilesConfig{MaxMB: 25, Clamd: ClamdConfig{Timeout: 2 * time.Minute}, Resumable: ResumableConfig{Expire: 24 * time.Hour}, Store: "postgres"},
		Privacy: PrivacyConfig{ExportTTL: 24 * time.Hour, PurgeInterval: time.Hour, Retention: RetentionConfig{
			Sessions: 90 * 24 * time.Hour, Notifications: 180 * 24 * time.Hour, Actions: 2 * 365 * 24 * time.Hour,
			Files: 365 * 24 * time.Hour, Audit: 6 * 365 * 24 * time.Hour,
		}},
		Dev: DevConfig{Dir: ".portico", Records: 2000, Seed: 1},
	}
}

// DefaultConnection fills the zero values of a connection's tuning knobs.
// It is the one place they are filled: Load applies it to every
// connection, and the HTTP client and sources take the result as it is
// (httpclient.New refuses a connection that skipped it).
func DefaultConnection(c ConnectionConfig) ConnectionConfig {
	if c.Quota.WriteShare == 0 {
		c.Quota.WriteShare = 0.2
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = 5
	}
	if c.Breaker.OpenTimeout == 0 {
		c.Breaker.OpenTimeout = 30 * time.Second
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = 4
	}
	if c.Retry.WaitMin == 0 {
		c.Retry.WaitMin = 100 * time.Millisecond
	}
	if c.Retry.WaitMax == 0 {
		c.Retry.WaitMax = 5 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 32 << 20
	}
	if c.RedirectURL == "" {
		c.RedirectURL = DefaultRedirectURL
	}
	return c
}

// Options says where Load looks.
type Options struct {
	// File is the --config value; empty means DefaultFile if it exists.
	File string
	// Flags are the command's flags; those annotated with FlagKey override
	// every other source when set.
	Flags *pflag.FlagSet
	// Env overrides os.Environ, for tests.
	Env []string
	// ConnectionTypes are the connector types the binary registers (its
	// connector registry's Types()); connections of other types are
	// refused. The registry is the one list: config keeps no copy.
	ConnectionTypes []string
}

// Load reads the configuration with the precedence flags, environment,
// file, defaults, and validates it. Every error names the key; errors in
// the file name file:line.
func Load(opts Options) (*Config, error) {
	v := viper.New()
	def := Default()
	setDefaults(v, "", reflect.ValueOf(def))

	file := opts.File
	if file == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			file = DefaultFile
		}
	}
	var lines map[string]int
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("cannot read config file: %v", err)}
		}
		lines, err = checkFile(file, data)
		if err != nil {
			return nil, err
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{File: file, Msg: err.Error()}
		}
	}

	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, EnvPrefix+"_"))
		if key == "config" || notConfigEnv[name] {
			continue
		}
		known := knownEnvKey(key)
		if known == "" {
			return nil, &Error{Key: name, Msg: "unknown environment variable; see config/portico.example.yaml for the keys"}
		}
		v.Set(known, val)
	}

	if opts.Flags != nil {
		opts.Flags.VisitAll(func(f *pflag.Flag) {
			keys := f.Annotations[FlagKey]
			if len(keys) == 1 && f.Changed {
				v.Set(keys[0], f.Value.String())
			}
		})
	}

	var cfg Config
	err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, decodeErrors(err, file, lines, v.Get)
	}
	for i := range cfg.Connections {
		cfg.Connections[i] = DefaultConnection(cfg.Connections[i])
	}
	if err := cfg.Validate(opts.ConnectionTypes); err != nil {
		var es Errors
		if errors.As(err, &es) {
			for _, e := range es {
				if line, ok := lines[e.Key]; ok {
					e.File, e.Line = file, line
				}
			}
		}
		return nil, err
	}
	return &cfg, nil
}

// setDefaults registers every leaf key with viper so that environment
// variables and Unmarshal know about it.
func setDefaults(v *viper.Viper, prefix string, rv reflect.Value) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		tag := rt.Field(i).Tag.Get("mapstructure")
		if tag == "" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := rv.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
			setDefaults(v, key, fv)
			continue
		}
		if fv.Kind() == reflect.Slice {
			continue
		}
		v.SetDefault(key, fv.Interface())
	}
}

// leafKeys lists the dotted keys of t's scalar fields.
func leafKeys(prefix string, t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Struct:
			keys = append(keys, leafKeys(key, ft)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			// Lists of structs are set in the file, not through env.
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// knownEnvKey maps an env suffix such as "http_read_timeout" to its key.
// notConfigEnv are the PORTICO_ variables that are not configuration but
// steer the test suite (internal/web/webtest, internal/files/clamdtest,
// internal/documents, the chaos tests): a process started beside the
// tests, or a developer's shell exporting them, is not refused.
var notConfigEnv = map[string]bool{
	"PORTICO_REQUIRE_BROWSER":         true, // browser tests fail instead of skipping without Chromium
	"PORTICO_CHROMIUM":                true, // the Chromium binary browser tests start
	"PORTICO_SCREENSHOTS":             true, // where browser tests write screenshots
	"PORTICO_REQUIRE_CLAMD":           true, // scanner tests fail instead of skipping without clamd
	"PORTICO_CLAMD":                   true, // the clamd binary scanner tests start
	"PORTICO_REQUIRE_POPPLER":         true, // document tests fail instead of skipping without pdftotext
	"PORTICO_REQUIRE_PDFSIG":          true, // sealing tests fail instead of skipping without pdfsig
	"PORTICO_REQUIRE_PGBOUNCER":       true, // pooler tests fail instead of skipping without pgbouncer
	"PORTICO_CHAOS_RECORDS":           true, // the sync chaos test's volume
	"PORTICO_WRITEBACK_CHAOS_ACTIONS": true, // the write-back chaos test's volume
}

func knownEnvKey(suffix string) string {
	for _, key := range leafKeys("", reflect.TypeOf(Config{})) {
		if strings.ReplaceAll(key, ".", "_") == suffix {
			return key
		}
	}
	return ""
}

// checkFile parses the YAML, rejects unknown keys with their line, and
// returns the line of every key path for later error messages.
func checkFile(file string, data []byte) (map[string]int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	lines := map[string]int{}
	if len(doc.Content) == 0 {
		return lines, nil
	}
	var errs Errors
	walkNode(file, "", doc.Content[0], reflect.TypeOf(Config{}), lines, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return lines, nil
}

func walkNode(file, prefix string, n *yaml.Node, t reflect.Type, lines map[string]int, errs *Errors) {
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeOf(time.Duration(0)):
		if n.Kind != yaml.MappingNode {
			*errs = append(*errs, &Error{File: file, Line: n.Line, Key: prefix, Msg: "must be a mapping"})
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" {
				fields[tag] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &Error{File: file, Line: k.Line, Key: key, Msg: "unknown key" + suggest(k.Value, fields)})
				continue
			}
			lines[key] = k.Line
			walkNode(file, key, val, ft, lines, errs)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String && n.Kind == yaml.SequenceNode:
		// Each entry's line, so that a bad one is named where it stands.
		for i, item := range n.Content {
			lines[fmt.Sprintf("%s[%d]", prefix, i)] = item.Line
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			*errs = append(*errs, &Error{File: file, Line: n.Line, Key: prefix, Msg: "must be a list"})
			return
		}
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", prefix, i)
			lines[key] = item.Line
			walkNode(file, key, item, t.Elem(), lines, errs)
		}
	}
}

func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}

// decodeErrors turns mapstructure's joined errors into keyed config errors.
func decodeErrors(err error, file string, lines map[string]int, get func(string) any) error {
	var errs Errors
	var walk func(error)
	walk = func(e error) {
		if joined, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range joined.Unwrap() {
				walk(inner)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(e, &de) {
			msg := fmt.Sprintf("bad value: %v", errors.Unwrap(de))
			if val := get(de.Name()); val != nil {
				msg = fmt.Sprintf("bad value %q: %v", fmt.Sprint(val), errors.Unwrap(de))
			}
			ce := &Error{Key: de.Name(), Msg: msg}
			if line, ok := lines[de.Name()]; ok {
				ce.File, ce.Line = file, line
			}
			errs = append(errs, ce)
			return
		}
		if e != nil {
			errs = append(errs, &Error{File: file, Msg: e.Error()})
		}
	}
	walk(err)
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// LeafKeys lists every scalar key, with list elements written as
// "connections[].name", for documentation checks.
func LeafKeys() []string {
	keys := leafKeys("", reflect.TypeOf(Config{}))
	t := reflect.TypeOf(ConnectionConfig{})
	for _, k := range leafKeys("", t) {
		keys = append(keys, "connections[]."+k)
	}
	return keys
}
