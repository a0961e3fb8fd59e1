package apptest

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// AdminToken is the admin token of a test's Portico (Config).
const AdminToken = "test-admin-token-0123456789"

// EncryptionKey encrypts the source credentials of a test's Portico.
const EncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// Config is the default configuration of a Portico on the database
// dbURL that listens on a port of 127.0.0.1 free now, with its public URL
// there, AdminToken and EncryptionKey. It has no connections.
func Config(t testing.TB, dbURL string) config.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.HTTP.Addr = addr
	cfg.HTTP.PublicURL = "http://" + addr
	cfg.Admin.Token = AdminToken
	cfg.Secrets.EncryptionKey = EncryptionKey
	// The tests' webhook receivers listen on this machine.
	cfg.Notify.WebhookPrivateTargets = true
	return cfg
}

// Portal is one running Portico.
type Portal struct {
	App *app.App
	// URL is where its API and pages answer (cfg.HTTP.PublicURL).
	URL  string
	stop func()
}

// Start opens a Portico on cfg and runs it until the test ends or Stop is
// called. With mode.Serve it returns once the API listens. Stopping fails
// the test if Run ended with an error.
func Start(t testing.TB, cfg *config.Config, logger *slog.Logger, mode app.Mode, deps app.Deps) *Portal {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, logger, mode, deps)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	listening := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(string) { close(listening) }) }()
	if mode.Serve {
		select {
		case <-listening:
		case err := <-done:
			cancel()
			a.Close()
			require.NoError(t, err)
			t.Fatal("apptest: Run returned before the API listened")
		}
	}
	var once sync.Once
	p := &Portal{App: a, URL: cfg.HTTP.PublicURL}
	p.stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
			a.Close()
		})
	}
	t.Cleanup(p.stop)
	return p
}

// Stop stops the Portico and waits for it; a second call does nothing.
func (p *Portal) Stop() { p.stop() }

// Run opens a Portico on cfg in mode, with the built-in connectors and the
// shipped mappings, and runs it until ctx ends: the whole work of a test
// binary's child process (proctest.Child). Its result is the exit code: 2
// if it did not open, 1 if Run failed.
func Run(ctx context.Context, cfg *config.Config, logger *slog.Logger, mode app.Mode) int {
	set, err := mapping.Load(mappings.FS())
	if err != nil {
		logger.Error("child: mappings", "error", err)
		return 2
	}
	a, err := app.Open(ctx, cfg, logger, mode, app.Deps{Connectors: builtin.Registry(), Mappings: set})
	if err != nil {
		logger.Error("child: open", "error", err)
		return 2
	}
	defer a.Close()
	if err := a.Run(ctx, nil); err != nil {
		logger.Error("child: run", "error", err)
		return 1
	}
	return 0
}
