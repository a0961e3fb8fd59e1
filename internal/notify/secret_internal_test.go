package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// Webhook secrets are sealed in the database under the encryption key: a
// new or rotated secret is never stored in clear, one kept in clear from
// before is sealed by SealWebhookSecrets (once), deliveries are still
// signed with the secret the account was given, and a sealed secret moved
// to another account's webhook does not open (the delivery fails, saying
// why, and sends nothing).
func TestWebhookSecretsAreSealed(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	s := testService(t, pool, func(o *Options) { o.WebhookKey, o.WebhookPrivateTargets = key, true })
	var mu sync.Mutex
	var sigs []string
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sigs, bodies = append(sigs, r.Header.Get("Portico-Signature")), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	var tenant int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM tenant LIMIT 1`).Scan(&tenant))
	by := audit.Event{Actor: audit.SystemActor()}
	stored := func(id int64) string {
		var v string
		require.NoError(t, pool.QueryRow(ctx, `SELECT secret FROM notify_webhook WHERE id = $1`, id).Scan(&v))
		return v
	}
	w := &webhookWorker{s: s}
	deliver := func(id int64) error {
		return w.Work(ctx, &river.Job[WebhookArgs]{JobRow: &rivertype.JobRow{}, Args: WebhookArgs{HookID: id,
			Payload: WebhookPayload{ID: 7, Event: EventCaseStatus, Object: "case", RecordID: "500A", Account: "001A", OccurredAt: time.Now()}}})
	}
	// signedWith: the last delivery's signature is the secret's.
	signedWith := func(secret string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, sigs)
		sig, body := sigs[len(sigs)-1], bodies[len(bodies)-1]
		ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		unix, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.Equal(t, Signature(secret, time.Unix(unix, 0), body), sig)
	}

	h, err := s.AddWebhook(ctx, tenant, "001A", srv.URL+"/a", "whsec-0123456789abcdef", by)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(stored(h.ID), sealedPrefix), "a new secret is stored sealed")
	require.NotContains(t, stored(h.ID), "0123456789abcdef")
	require.NoError(t, deliver(h.ID))
	signedWith("whsec-0123456789abcdef")

	rotated, err := s.RotateWebhookSecret(ctx, tenant, "001A", h.ID, by)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(stored(h.ID), sealedPrefix), "a rotated secret is stored sealed")
	require.NotContains(t, stored(h.ID), strings.TrimPrefix(rotated, "whsec_"))
	require.NoError(t, deliver(h.ID))
	signedWith(rotated)

	// A secret kept in clear from before is sealed, once.
	legacy, err := store.NotifyWebhookCreate(ctx, pool, store.NotifyWebhookCreateParams{TenantID: tenant, AccountID: "001B", Url: srv.URL + "/b", Secret: "whsec-legacy-0123456789"})
	require.NoError(t, err)
	n, err := s.SealWebhookSecrets(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, strings.HasPrefix(stored(legacy.ID), sealedPrefix))
	n, err = s.SealWebhookSecrets(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "sealed already")
	require.NoError(t, deliver(legacy.ID))
	signedWith("whsec-legacy-0123456789")

	// 001A's sealed secret copied onto 001B's webhook does not open there.
	_, err = pool.Exec(ctx, `UPDATE notify_webhook SET secret = $1 WHERE id = $2`, stored(h.ID), legacy.ID)
	require.NoError(t, err)
	mu.Lock()
	before := len(sigs)
	mu.Unlock()
	require.ErrorIs(t, deliver(legacy.ID), errSecretSealed)
	mu.Lock()
	require.Len(t, sigs, before, "nothing was sent")
	mu.Unlock()
	hooks, err := s.Webhooks(ctx, tenant, "001B")
	require.NoError(t, err)
	require.NotNil(t, hooks[0].LastDelivery)
	require.Contains(t, hooks[0].LastDelivery.Error, "does not decrypt")
}
