package fakesource_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

var osReadFile = os.ReadFile

// clock is the settable test clock the connectors' tests use too.
type clock = conntest.Clock

func newClock() *clock { return conntest.NewClock(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)) }

// env is one test's simulator, server, clock and credentials.
type env struct {
	t     testing.TB
	sim   *fakesource.Sim
	url   string
	clock *clock
	cr    fakesource.Credentials
}

func setup(t *testing.T, mod ...func(*fakesource.Options)) *env {
	t.Helper()
	c := newClock()
	o := fakesource.Options{Seed: 3, Records: 2000, Now: c.Now}
	for _, m := range mod {
		m(&o)
	}
	sim, srv := fakesourcetest.Start(t, o)
	return &env{t: t, sim: sim, url: srv.URL, clock: c, cr: sim.Credentials(srv.URL)}
}

func (e *env) sf() *client {
	e.t.Helper()
	return sfLogin(e.t, e.url, e.cr)
}

func (e *env) qb() *client {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.cr.Accounting.TokenURL,
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {e.cr.Accounting.RefreshToken}}.Encode()))
	require.NoError(e.t, err)
	req.SetBasicAuth(e.cr.Accounting.ClientID, e.cr.Accounting.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	var tok map[string]any
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&tok))
	return &client{t: e.t, base: e.url, tok: tok["access_token"].(string)}
}

func (e *env) sq() *client {
	return &client{t: e.t, base: e.url, tok: e.cr.Inventory.AccessToken}
}

func (e *env) qbPath(rest string) string { return "/v3/company/" + e.cr.Accounting.Realm + rest }

func decode(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	return m
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// requireKeys asserts that got has every key of want (recursively for objects and the
// first element of arrays): the fixture's shape is a subset of ours.
func requireKeys(t *testing.T, want, got any, path string) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		require.True(t, ok, "%s: want an object, got %T", path, got)
		for k, wv := range w {
			gv, ok := g[k]
			require.True(t, ok, "%s: missing key %q (have %v)", path, k, keys(g))
			if wv != nil && gv != nil {
				requireKeys(t, wv, gv, path+"."+k)
			}
		}
	case []any:
		g, ok := got.([]any)
		require.True(t, ok, "%s: want an array, got %T", path, got)
		if len(w) > 0 && len(g) > 0 {
			requireKeys(t, w[0], g[0], path+"[0]")
		}
	}
}

// cassetteBodies returns the response bodies recorded in a qbo_api VCR cassette.
func cassetteBodies(t *testing.T, path string) []string {
	t.Helper()
	var c struct {
		Interactions []struct {
			Request struct {
				URI string `yaml:"uri"`
			} `yaml:"request"`
			Response struct {
				Body struct {
					String string `yaml:"string"`
				} `yaml:"body"`
			} `yaml:"response"`
		} `yaml:"http_interactions"`
	}
	require.NoError(t, yaml.Unmarshal(fixture(t, path), &c))
	var out []string
	for _, i := range c.Interactions {
		out = append(out, i.Response.Body.String)
	}
	return out
}

func newServer(tb testing.TB, sim *fakesource.Sim) string {
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}
