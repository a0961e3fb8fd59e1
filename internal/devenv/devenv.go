// Package devenv runs Portico's embedded default: a private PostgreSQL
// cluster (unless a database URL is configured), migrations, the API and
// the workers in one process, and the files that let scripts and other
// portico commands reach it (.portico/dev.json and .portico/dev.yaml).
// It stops everything it started when its context ends.
package devenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/internal/seal"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgcluster"
	"github.com/porticohq/portico/internal/store"
)

// Info is what .portico/dev.json holds (DESIGN.md, "Surfaces that
// scripts rely on"). Fields are only ever added.
type Info struct {
	APIURL      string   `json:"api_url"`
	DatabaseURL string   `json:"database_url"`
	AdminToken  string   `json:"admin_token"`
	SimURL      string   `json:"sim_url,omitempty"`
	Connections []string `json:"connections"`
	Users       []User   `json:"users"`
	// PID is the dev process: signal it (SIGINT or SIGTERM) to stop dev.
	PID int `json:"pid"`
}

// User is one demo login.
type User struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Account  string   `json:"account"`
	Roles    []string `json:"roles"`
}

// secrets persist across runs so that a second `portico dev` keeps the
// same admin token and can decrypt what the first one stored.
type secrets struct {
	AdminToken    string `json:"admin_token"`
	EncryptionKey string `json:"encryption_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// Run starts the dev environment and blocks until ctx ends. out receives
// the human-readable lines (the portal URL). ready, if not nil, is called
// once dev.json is written.
func Run(ctx context.Context, cfg *config.Config, deps app.Deps, logger *slog.Logger, out io.Writer, ready func(Info)) error {
	dir, err := filepath.Abs(cfg.Dev.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	// Files left by an earlier run (killed, so it could not remove them)
	// would tell scripts and commands a stale address.
	removeRunFiles(dir)

	sec, err := loadSecrets(dir)
	if err != nil {
		return err
	}
	if cfg.Admin.Token == "" {
		cfg.Admin.Token = sec.AdminToken
	}
	if cfg.Secrets.EncryptionKey == "" {
		cfg.Secrets.EncryptionKey = sec.EncryptionKey
	}
	if cfg.Signing.CertFile == "" && cfg.Signing.KeyFile == "" {
		// A self-signed sealing certificate, kept across runs: signed
		// documents verify, though no reader trusts its issuer.
		org := cfg.Brand.Name
		if org == "" {
			org = "Portico"
		}
		if cfg.Signing.CertFile, cfg.Signing.KeyFile, err = seal.GenerateDev(dir, org, time.Now()); err != nil {
			return fmt.Errorf("devenv: sealing certificate: %w", err)
		}
	}

	if cfg.DatabaseURL == "" {
		fmt.Fprintf(out, "starting private PostgreSQL in %s\n", filepath.Join(dir, "pg"))
		cluster, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
		if err != nil {
			return err
		}
		defer func() {
			_ = cluster.Stop()
			fmt.Fprintln(out, "private PostgreSQL stopped")
		}()
		if err := ensureDatabase(ctx, cluster.URL("postgres"), "portico"); err != nil {
			return err
		}
		cfg.DatabaseURL = cluster.URL("portico")
	}

	pool, err := app.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	applied, err := migrate.Up(ctx, pool, logger)
	pool.Close()
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		fmt.Fprintf(out, "applied %d migrations\n", len(applied))
	}

	if cfg.HTTP.Addr == config.Default().HTTP.Addr && !portFree(cfg.HTTP.Addr) {
		cfg.HTTP.Addr = "127.0.0.1:0"
	}
	// The simulators post webhooks to the API, so its address is fixed
	// before either starts.
	if strings.HasSuffix(cfg.HTTP.Addr, ":0") {
		port, err := freePort()
		if err != nil {
			return err
		}
		cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	if cfg.HTTP.PublicURL == "" {
		cfg.HTTP.PublicURL = "http://" + cfg.HTTP.Addr
	}
	simURL := ""
	var sim *fakesource.Sim
	if len(cfg.Connections) == 0 {
		url, conns, stop, s, err := startSimulators(ctx, cfg, sec, logger)
		if err != nil {
			return err
		}
		defer stop()
		simURL, cfg.Connections, sim = url, conns, s
		fmt.Fprintf(out, "simulated sources on %s (%d records)\n", simURL, cfg.Dev.Records)
	}
	deps.DevMail = true // invitations and resets are printed, marked as dev mail
	// A developer's webhook receiver listens on this machine.
	cfg.Notify.WebhookPrivateTargets = true
	a, err := app.Open(ctx, cfg, logger, app.Mode{Serve: true, Work: true}, deps)
	if err != nil {
		return err
	}
	defer a.Close()
	users, fresh := []User{}, []User{}
	if sim != nil {
		if users, fresh, err = DemoUsers(ctx, a.Pool(), sim, cfg.Admin.Token); err != nil {
			return err
		}
	}
	// The demo conflicts are made in the background; they end with Run.
	var story sync.WaitGroup
	defer story.Wait()
	storyCtx, stopStory := context.WithCancel(ctx)
	defer stopStory()

	// dev.json and dev.yaml describe a running environment; they go when
	// we do.
	defer removeRunFiles(dir)
	return a.Run(ctx, func(addr string) {
		info := Info{
			APIURL:      "http://" + addr,
			DatabaseURL: cfg.DatabaseURL,
			AdminToken:  cfg.Admin.Token,
			SimURL:      simURL,
			Connections: []string{},
			Users:       users,
			PID:         os.Getpid(),
		}
		for _, c := range cfg.Connections {
			info.Connections = append(info.Connections, c.Name)
		}
		if sim != nil {
			// Told now that the API takes the simulators' webhooks.
			if _, err := sim.TellStory(); err != nil {
				logger.Error("devenv: telling the demo story", slog.String("error", err.Error()))
			}
			story.Go(func() {
				if err := demoConflicts(storyCtx, info.APIURL, sim, fresh); err != nil && storyCtx.Err() == nil {
					logger.Warn("devenv: the demo users' conflicts", slog.String("error", err.Error()))
				}
			})
		}
		if err := writeFiles(dir, cfg, addr, info); err != nil {
			logger.Error("devenv: writing dev.json", slog.String("error", err.Error()))
			return
		}
		fmt.Fprintf(out, "Portico is running: %s\n", info.APIURL)
		fmt.Fprintf(out, "  Portal:     %s/ (sign in as one of the demo users)\n", info.APIURL)
		if len(info.Users) > 0 {
			// The demo users share one password.
			fmt.Fprintf(out, "  Demo users: password %s (also in %s)\n", info.Users[0].Password, filepath.Join(dir, "dev.json"))
		}
		for _, u := range info.Users {
			fmt.Fprintf(out, "    %-36s %s\n", u.Email, strings.Join(u.Roles, ", "))
		}
		fmt.Fprintf(out, "  River UI:   %s/admin/riverui (user: any, password: the admin token in %s)\n", info.APIURL, filepath.Join(dir, "dev.json"))
		fmt.Fprintf(out, "  other commands: %s --config %s <command>\n", cliCommand(), filepath.Join(dir, "dev.yaml"))
		fmt.Fprintln(out, "Press Ctrl-C to stop.")
		if ready != nil {
			ready(info)
		}
	})
}

// startSimulators serves the simulated sources on a free loopback port and
// returns the three connections that reach them.
func startSimulators(ctx context.Context, cfg *config.Config, sec secrets, logger *slog.Logger) (string, []config.ConnectionConfig, func(), *fakesource.Sim, error) {
	sim, err := fakesource.New(fakesource.Options{
		Seed:          cfg.Dev.Seed,
		Records:       cfg.Dev.Records,
		WebhookURL:    strings.TrimRight(cfg.HTTP.PublicURL, "/") + "/hooks/{system}",
		WebhookSecret: sec.WebhookSecret,
		Logger:        logger.With(slog.String("component", "fakesource")),
		// The cache outlives a run, so the sources must too: records
		// created or edited in an earlier run still exist at the source.
		StateDir: filepath.Join(cfg.Dev.Dir, "sim"),
	})
	if err != nil {
		return "", nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, nil, err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	cr := sim.Credentials(url)
	conns := SimConnections(cr)
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		sim.Close()
	}
	return url, conns, stop, sim, nil
}

// SimConnection is the configuration, defaults applied, of the connection
// to the simulated system name (fakesource.Salesforce, ...), named and
// typed after it, with the simulator's credentials sc.
func SimConnection(name string, sc fakesource.SystemCredentials) config.ConnectionConfig {
	return config.DefaultConnection(config.ConnectionConfig{
		Name: name, Type: name, BaseURL: sc.BaseURL, TokenURL: sc.TokenURL,
		ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken,
		AccessToken: sc.AccessToken, Realm: sc.Realm, WebhookSecret: sc.WebhookSecret,
	})
}

// SimConnections is a connection to each of the three simulated systems
// (SimConnection), the CRM first.
func SimConnections(cr fakesource.Credentials) []config.ConnectionConfig {
	return []config.ConnectionConfig{
		SimConnection(fakesource.Salesforce, cr.Salesforce),
		SimConnection(fakesource.Accounting, cr.Accounting),
		SimConnection(fakesource.Inventory, cr.Inventory),
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	defer conn.Close(ctx)
	exists, err := store.DatabaseExists(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	if !exists {
		if err := store.DatabaseCreate(ctx, conn, name, ""); err != nil {
			return fmt.Errorf("devenv: %w", err)
		}
	}
	return nil
}

func loadSecrets(dir string) (secrets, error) {
	path := filepath.Join(dir, "secrets.json")
	var s secrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("devenv: %s: %w", path, err)
		}
		if s.WebhookSecret == "" {
			s.WebhookSecret = randomToken(24)
		}
		return s, nil
	case !errors.Is(err, os.ErrNotExist):
		return s, fmt.Errorf("devenv: %w", err)
	}
	s = secrets{AdminToken: randomToken(24), EncryptionKey: randomToken(32), WebhookSecret: randomToken(24)}
	data, _ = json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(path, data, 0o600)
}

func writeFiles(dir string, cfg *config.Config, addr string, info Info) error {
	devCfg := map[string]any{
		"database_url": cfg.DatabaseURL,
		"http":         map[string]any{"addr": addr},
		"admin":        map[string]any{"token": cfg.Admin.Token},
		"secrets":      map[string]any{"encryption_key": cfg.Secrets.EncryptionKey},
		"signing":      map[string]any{"cert_file": cfg.Signing.CertFile, "key_file": cfg.Signing.KeyFile},
	}
	if len(cfg.Connections) > 0 {
		conns, err := yamlValue(cfg.Connections)
		if err != nil {
			return err
		}
		devCfg["connections"] = conns
	}
	y, err := yaml.Marshal(devCfg)
	if err != nil {
		return err
	}
	header := []byte("# Written by `portico dev`; reaches the running dev environment (removed when it stops):\n#   " +
		cliCommand() + " --config " + filepath.Join(dir, "dev.yaml") + " <command>\n")
	if err := writeAtomic(filepath.Join(dir, "dev.yaml"), append(header, y...)); err != nil {
		return err
	}
	j, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	// dev.json last: its appearance tells scripts everything is ready.
	return writeAtomic(filepath.Join(dir, "dev.json"), append(j, '\n'))
}

// yamlValue renders connections with the config file's keys.
func yamlValue(conns []config.ConnectionConfig) (any, error) {
	c := config.Config{Connections: conns}
	raw, err := c.YAML()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m["connections"], nil
}

// removeRunFiles removes the files that describe a running environment,
// dev.json first: scripts wait on it.
func removeRunFiles(dir string) {
	_ = os.Remove(filepath.Join(dir, "dev.json"))
	_ = os.Remove(filepath.Join(dir, "dev.yaml"))
}

// cliCommand is how to run this binary again. Nothing installs portico
// on the PATH: under `go run` the binary is a temporary build, so the
// answer is `go run ./cmd/portico`; otherwise its absolute path, which
// works from any directory.
func cliCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "go run ./cmd/portico"
	}
	return commandFor(exe)
}

// commandFor is cliCommand for the executable exe.
func commandFor(exe string) string {
	for _, part := range strings.Split(filepath.Dir(exe), string(filepath.Separator)) {
		if strings.HasPrefix(part, "go-build") { // go run's work directory or its cache
			return "go run ./cmd/portico"
		}
	}
	return exe
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
