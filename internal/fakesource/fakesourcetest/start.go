// Package fakesourcetest starts a fakesource simulator on an httptest server for tests.
package fakesourcetest

import (
	"net/http/httptest"
	"testing"

	"github.com/porticohq/portico/internal/fakesource"
)

// Start builds a simulator from opts, serves it on a fresh httptest server closed at the
// end of the test, and returns both. Use srv.URL as the base URL for every system and
// sim.Credentials(srv.URL) for the connector settings.
func Start(t testing.TB, opts fakesource.Options) (*fakesource.Sim, *httptest.Server) {
	t.Helper()
	sim, err := fakesource.New(opts)
	if err != nil {
		t.Fatalf("fakesourcetest: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	sim.Credentials(srv.URL) // teaches the sim its own base URL for instance_url and webhooks
	return sim, srv
}
