package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/mappings"
)

// An account admin's webhook must not reach inside the operator's
// network: a URL naming a loopback, private, link-local (cloud metadata)
// or shared address, or localhost, is refused as a field error of url and
// stores nothing; a name that resolves inside is refused when the worker
// connects, before a byte is sent; a redirect is not followed. Private
// targets are allowed where the operator says so (development).
func TestWebhooksReachPublicAddressesOnly(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	open := func(allowPrivate bool) *Service {
		return testService(t, pool, func(o *Options) { o.WebhookPrivateTargets = allowPrivate })
	}
	ctx := context.Background()
	var tenant int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM tenant LIMIT 1`).Scan(&tenant))
	by := audit.Event{Actor: audit.SystemActor()}
	const secret = "whsec-0123456789abcdef"

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	public := open(false)
	for _, u := range []string{srv.URL, "http://localhost:8080/hook", "http://api.localhost/hook", "http://169.254.169.254/latest/meta-data",
		"http://10.0.0.7/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook", "http://[::1]:9000/hook", "http://[fd00::1]/hook",
		"http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook"} {
		_, err := public.AddWebhook(ctx, tenant, "001A", u, secret, by)
		require.Equal(t, "url", Field(err), u)
	}
	hooks, err := public.Webhooks(ctx, tenant, "001A")
	require.NoError(t, err)
	require.Empty(t, hooks, "nothing stored")
	for _, a := range []string{"93.184.215.14", "2606:4700::1111"} {
		require.True(t, publicAddr(netip.MustParseAddr(a)), a)
	}

	// A name that resolves to this machine (here through /etc/hosts) is
	// refused at the connection.
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	_, err = public.AddWebhook(ctx, tenant, "001A", "http://portico-test.localtest.me:"+u.Port()+"/hook", secret, by)
	require.NoError(t, err, "a name is not resolved when registered")
	err = public.post(ctx, "http://localhost:"+u.Port()+"/hook", []byte(`{}`), secret)
	require.ErrorIs(t, err, errPrivateTarget)
	require.Zero(t, hits.Load(), "nothing reached the receiver")

	// Allowed in development; a redirect still is not followed.
	dev := open(true)
	_, err = dev.AddWebhook(ctx, tenant, "001B", srv.URL+"/hook", secret, by)
	require.NoError(t, err)
	require.NoError(t, dev.post(ctx, srv.URL+"/hook", []byte(`{}`), secret))
	err = dev.post(ctx, srv.URL+"/moved", []byte(`{}`), secret)
	require.Error(t, err)
	require.Contains(t, err.Error(), "answered 302")
	require.Equal(t, int32(2), hits.Load(), "the redirect's target was not asked")
	require.False(t, errors.Is(err, errPrivateTarget))
}

// testService is a service on pool that inserts no jobs, with the
// shipped mappings and tweak's options.
func testService(t *testing.T, pool *pgxpool.Pool, tweak func(*Options)) *Service {
	t.Helper()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	o := Options{Pool: pool, Records: records.New(records.Options{Pool: pool, Mappings: set}), Policy: access.NewPolicy(pool),
		Insert: func(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return nil, nil
		},
		SigningKey: make([]byte, 32)}
	tweak(&o)
	s, err := New(o)
	require.NoError(t, err)
	return s
}
