package bench

import (
	"context"
	"net/http/httptest"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

// testEncryptionKey encrypts the source credentials of a bench's stack.
const testEncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// stack is an in-process Portico over simulators.
type stack struct {
	sim  *fakesource.Sim
	srv  *httptest.Server
	app  *app.App
	cfg  *config.Config
	stop func()
}

// simConnection is the configuration of a connection to a simulated system.
func simConnection(name string, sc fakesource.SystemCredentials) config.ConnectionConfig {
	return config.DefaultConnection(config.ConnectionConfig{
		Name: name, Type: name, BaseURL: sc.BaseURL, TokenURL: sc.TokenURL, ClientID: sc.ClientID,
		ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken, AccessToken: sc.AccessToken,
		Realm: sc.Realm, WebhookSecret: sc.WebhookSecret,
	})
}

// startStack seeds the simulators and opens a Portico (API and workers,
// not yet running) on dbURL with a connection to each system; mutate
// adjusts the configuration first.
func startStack(ctx context.Context, dbURL string, deps DepsFunc, out Output, simOpts fakesource.Options, mutate func(*config.Config)) (*stack, error) {
	sim, err := fakesource.New(simOpts)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(sim.Handler())
	cr := sim.Credentials(srv.URL)
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Log.Level = "warn"
	cfg.Secrets.EncryptionKey = testEncryptionKey
	cfg.Connections = []config.ConnectionConfig{
		simConnection(fakesource.Salesforce, cr.Salesforce), simConnection(fakesource.Accounting, cr.Accounting),
		simConnection(fakesource.Inventory, cr.Inventory),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	d, err := deps(&cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	a, err := app.Open(ctx, &cfg, out.warnLogger(), app.Mode{Serve: true, Work: true}, d)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &stack{sim: sim, srv: srv, app: a, cfg: &cfg, stop: func() {
		a.Close()
		srv.Close()
		sim.Close()
	}}, nil
}
