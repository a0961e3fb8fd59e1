package accounting_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/config"
)

// TestRotatedTokenStoredBeforeUse checks the order that makes a crash
// safe: by the time the source sees the new access token, the rotated
// refresh token is already in the credential store.
func TestRotatedTokenStoredBeforeUse(t *testing.T) {
	t.Parallel()
	store := &conntest.MemoryCredentials{}
	var issued atomic.Int64
	var mu sync.Mutex
	var apiCalls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/oauth2/v1/tokens/bearer":
			require.NoError(t, r.ParseForm())
			n := issued.Add(1)
			require.Equal(t, "refresh-"+itoa(n-1), r.PostForm.Get("refresh_token"), "the newest refresh token is spent")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"token_type":"bearer","expires_in":3600,"refresh_token":"refresh-` + itoa(n) +
				`","x_refresh_token_expires_in":8726400,"access_token":"access-` + itoa(n) + `"}`))
		default:
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			n := strings.TrimPrefix(tok, "access-")
			cr, err := store.Load(r.Context(), "qb")
			require.NoError(t, err)
			require.Equal(t, "refresh-"+n, cr.RefreshToken, "the rotated refresh token was stored before its access token was used")
			mu.Lock()
			apiCalls++
			mu.Unlock()
			_, _ = w.Write([]byte(`{"Customer":{"Id":"1","SyncToken":"0","MetaData":{"LastUpdatedTime":"2024-01-01T00:00:00-08:00"}}}`))
		}
	}))
	t.Cleanup(srv.Close)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	c, err := accounting.NewWithOptions(connectors.Deps{
		Connection:  connectors.Connection{Name: "qb", BaseURL: srv.URL, RefreshToken: "refresh-0", Realm: "42", ClientID: "id", ClientSecret: "s"},
		HTTP:        srv.Client(),
		Credentials: store,
	}, accounting.Options{Tuning: wire.Tuning{Now: func() time.Time { return now.Add(time.Duration(clock.Load())) }}})
	require.NoError(t, err)
	for i := range 3 {
		_, err := c.Get(context.Background(), "Customer", "1")
		require.NoError(t, err)
		clock.Add(int64(2 * time.Hour)) // every call needs a new token
		require.EqualValues(t, i+1, issued.Load())
	}
	cr, err := store.Load(context.Background(), "qb")
	require.NoError(t, err)
	require.Equal(t, "refresh-3", cr.RefreshToken)
	require.Equal(t, 3, apiCalls)
}

// TestThrottled403IsRetried: QuickBooks' 403 with fault 3001 is a
// throttle, retried after Retry-After like a 429 by the shared client.
func TestThrottled403IsRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=403</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>`))
			return
		}
		_, _ = w.Write([]byte(`{"Customer":{"Id":"1","SyncToken":"4","MetaData":{"LastUpdatedTime":"2024-01-01T00:00:00-08:00"}}}`))
	}))
	t.Cleanup(srv.Close)
	// The retry is the shared client's (DESIGN: retries live there, not
	// in each connector); the connector only says how to tell the throttle.
	conn := config.DefaultConnection(config.ConnectionConfig{Name: "qb", BaseURL: srv.URL, AccessToken: "tok", Realm: "42"})
	client, err := httpclient.New(httpclient.Options{Connection: conn, Transport: srv.Client().Transport})
	require.NoError(t, err)
	c, err := accounting.NewWithOptions(connectors.Deps{Connection: conn.Connector(), HTTP: client}, accounting.Options{})
	require.NoError(t, err)
	start := time.Now()
	rec, err := c.Get(context.Background(), "Customer", "1")
	require.NoError(t, err)
	require.Equal(t, "4", rec.Version)
	require.GreaterOrEqual(t, time.Since(start), time.Second)
	require.EqualValues(t, 2, calls.Load())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestSecondWorkerAdoptsStoredToken: a worker that finds a good access
// token in the store uses it instead of rotating the refresh token again.
func TestSecondWorkerAdoptsStoredToken(t *testing.T) {
	t.Parallel()
	store := &conntest.MemoryCredentials{}
	var issued atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/v1/tokens/bearer" {
			n := issued.Add(1)
			_, _ = w.Write([]byte(`{"token_type":"bearer","expires_in":3600,"refresh_token":"r` + itoa(n) + `","access_token":"a` + itoa(n) + `"}`))
			return
		}
		_, _ = w.Write([]byte(`{"Customer":{"Id":"1","SyncToken":"0","MetaData":{"LastUpdatedTime":"2024-01-01T00:00:00-08:00"}}}`))
	}))
	t.Cleanup(srv.Close)
	build := func() connectors.Connector {
		c, err := accounting.NewWithOptions(connectors.Deps{
			Connection:  connectors.Connection{Name: "qb", BaseURL: srv.URL, RefreshToken: "r0", Realm: "42"},
			HTTP:        srv.Client(),
			Credentials: store,
		}, accounting.Options{})
		require.NoError(t, err)
		return c
	}
	for range 3 {
		_, err := build().Get(context.Background(), "Customer", "1")
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, issued.Load(), "one renewal serves every worker until it expires")
}
