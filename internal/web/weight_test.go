package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

// TestHubFirstLoadWeight: the status hub's first load, the page and every
// script and style it names, is sent compressed and weighs at most 40 KB
// (issue 13's budget, logo excluded).
func TestHubFirstLoadWeight(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("admin@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	fetch := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := b.c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Equal(t, "gzip", res.Header.Get("Content-Encoding"), path)
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(t, err)
		body, err := io.ReadAll(zr)
		require.NoError(t, err)
		return len(raw), string(body)
	}
	total, hub := fetch("/")
	require.Contains(t, hub, "<h1>")
	assets := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(hub, -1)
	require.NotEmpty(t, assets)
	for _, m := range assets {
		n, _ := fetch(m[1])
		total += n
	}
	t.Logf("status hub first load: %d bytes compressed, %d files", total, 1+len(assets))
	require.LessOrEqual(t, total, 40*1024)
}
