package wire_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// TestCallerRenewsOnceOn401: a 401 renews the token and sends the call
// again once; a second 401 comes back for the connector to classify.
func TestCallerRenewsOnceOn401(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var good atomic.Value
	good.Store("fresh")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "v1", r.Header.Get("Api-Version"))
		if r.Header.Get("Authorization") != "Bearer "+good.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	var renewals atomic.Int64
	c := &wire.Caller{Name: "test", HTTP: srv.Client(), Header: http.Header{"Api-Version": {"v1"}},
		URL:   func(path string) (string, error) { return srv.URL + path, nil },
		Token: func(context.Context) (string, error) { return "stale", nil },
		Renew: func(_ context.Context, stale string) (string, error) {
			renewals.Add(1)
			require.Equal(t, "stale", stale)
			return "fresh", nil
		}}
	resp, body, err := c.Do(context.Background(), wire.Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"ok":true}`, string(body))
	require.EqualValues(t, 2, calls.Load())
	require.EqualValues(t, 1, renewals.Load())

	good.Store("never")
	resp, _, err = c.Do(context.Background(), wire.Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "renewed once, then the 401 is the connector's to classify")
	require.EqualValues(t, 4, calls.Load())
	require.EqualValues(t, 2, renewals.Load())
}

func TestPageTokens(t *testing.T) {
	t.Parallel()
	type tok struct {
		N string `json:"n"`
		C int    `json:"c"`
	}
	got, err := wire.DecodeToken[tok](wire.EncodeToken(tok{N: "next", C: 3}))
	require.NoError(t, err)
	require.Equal(t, tok{N: "next", C: 3}, got)
	_, err = wire.DecodeToken[tok]("not a token!")
	var ie *connectors.InvalidError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "page", ie.Field)
}

func TestValidHMAC(t *testing.T) {
	t.Parallel()
	m := hmac.New(sha256.New, []byte("key"))
	m.Write([]byte("https://x.example/hook{}"))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	require.True(t, wire.ValidHMAC("key", "https://x.example/hook", []byte("{}"), sig))
	require.False(t, wire.ValidHMAC("key", "", []byte("{}"), sig), "the prefix is signed too")
	require.False(t, wire.ValidHMAC("other", "https://x.example/hook", []byte("{}"), sig))
	require.False(t, wire.ValidHMAC("", "", nil, ""), "an empty key or signature never verifies")
}

// TestBaseAndTuning: NewBase refuses deps without a client or a base URL
// and gives a logger either way; WithDefaults fills only the zero fields.
func TestBaseAndTuning(t *testing.T) {
	t.Parallel()
	_, err := wire.NewBase("notes", connectors.Deps{Connection: connectors.Connection{BaseURL: "https://x.example"}})
	require.ErrorContains(t, err, "notes: an HTTP client is required")
	_, err = wire.NewBase("notes", connectors.Deps{HTTP: http.DefaultClient})
	require.ErrorContains(t, err, "notes: base_url is required")
	b, err := wire.NewBase("notes", connectors.Deps{HTTP: http.DefaultClient, Connection: connectors.Connection{Name: "n", BaseURL: "https://x.example"}})
	require.NoError(t, err)
	require.NotNil(t, b.Log)
	require.Equal(t, "n", b.Conn.Name)

	tu := wire.Tuning{}.WithDefaults(time.Minute, 100)
	require.Equal(t, time.Minute, tu.Overlap)
	require.Equal(t, 100, tu.PageSize)
	require.NotNil(t, tu.Now)
	tu = wire.Tuning{Overlap: time.Second, PageSize: 7}.WithDefaults(time.Minute, 100)
	require.Equal(t, time.Second, tu.Overlap)
	require.Equal(t, 7, tu.PageSize)
}
