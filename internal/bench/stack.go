package bench

import (
	"context"
	"net/http/httptest"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/devenv"
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

// startStack seeds the simulators and opens a Portico (API and workers,
// not yet running) on dbURL with a connection to each system; mutate
// adjusts the configuration first.
func startStack(ctx context.Context, dbURL string, deps DepsFunc, out Output, simOpts fakesource.Options, mutate func(*config.Config)) (*stack, error) {
	sim, err := fakesource.New(simOpts)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(sim.Handler())
	cfg := stackConfig(dbURL, sim.Credentials(srv.URL), mutate)
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

// stackConfig is a bench's Portico configuration on dbURL with a connection
// to each simulated system; mutate adjusts it.
func stackConfig(dbURL string, cr fakesource.Credentials, mutate func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Log.Level = "warn"
	cfg.Secrets.EncryptionKey = testEncryptionKey
	cfg.Connections = devenv.SimConnections(cr)
	if mutate != nil {
		mutate(&cfg)
	}
	return cfg
}
