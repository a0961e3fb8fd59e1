package fakesource_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// fixture reads a file from the shared vendor fixtures.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := osReadFile("../../../shared/fixtures/" + path)
	require.NoError(t, err)
	return b
}

type client struct {
	t    *testing.T
	base string
	tok  string
}

func (c *client) do(method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			require.NoError(c.t, err)
			rd = strings.NewReader(string(raw))
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, raw
}

func sfLogin(t *testing.T, base string, cr fakesource.Credentials) *client {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.Salesforce.ClientID}, "client_secret": {cr.Salesforce.ClientSecret}}
	resp, err := http.PostForm(cr.Salesforce.TokenURL, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.Equal(t, base, tok.InstanceURL)
	return &client{t: t, base: base, tok: tok.AccessToken}
}

func TestSalesforceQueryPagesToTheEnd(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 20000})
	c := sfLogin(t, srv.URL, sim.Credentials(srv.URL))
	q := url.QueryEscape("SELECT Id, Name, Account.Name, SystemModstamp FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id")
	path := "/services/data/v59.0/query?q=" + q
	seen := map[string]bool{}
	total := -1
	lastStamp := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		code, hdr, body := c.do("GET", path, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		require.Contains(t, hdr.Get("Sforce-Limit-Info"), "api-usage=")
		var page struct {
			TotalSize      int              `json:"totalSize"`
			Done           bool             `json:"done"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
			Records        []map[string]any `json:"records"`
		}
		require.NoError(t, json.Unmarshal(body, &page))
		if total < 0 {
			total = page.TotalSize
		}
		for _, r := range page.Records {
			id := r["Id"].(string)
			require.Len(t, id, 18)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
			st := r["SystemModstamp"].(string)
			require.GreaterOrEqual(t, st, lastStamp)
			lastStamp = st
			require.NotNil(t, r["Account"])
		}
		if page.Done {
			require.Empty(t, page.NextRecordsURL)
			break
		}
		require.Len(t, page.Records, 2000)
		path = page.NextRecordsURL
	}
	require.Equal(t, total, len(seen))
	require.Greater(t, total, 2000)
}
