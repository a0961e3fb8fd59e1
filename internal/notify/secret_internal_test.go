package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		require.True(t, anyV1(sig, body, secret), "%s is not signed with %s", sig, secret)
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

// anyV1 reports whether one of the header's v1 signatures is the
// secret's, as a receiver checks it.
func anyV1(header string, body []byte, secret string) bool {
	ts, _, _ := strings.Cut(strings.TrimPrefix(header, "t="), ",")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	want := strings.TrimPrefix(Signature(secret, time.Unix(unix, 0), body), "t="+ts+",")
	for part := range strings.SplitSeq(header, ",") {
		if part == want {
			return true
		}
	}
	return false
}

// A rotated secret keeps signing beside the new one for a day, so the
// receiving tool can switch over without refusing a delivery; then the
// new one signs alone and the old one is dropped from the row. Kept
// sealed meanwhile, as the secret is.
func TestARotatedSecretSignsBesideTheNewOneForADay(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	var now atomic.Int64
	now.Store(time.Now().Unix())
	s := testService(t, pool, func(o *Options) {
		o.WebhookKey, o.WebhookPrivateTargets = []byte("0123456789abcdef0123456789abcdef"), true
		o.Now = func() time.Time { return time.Unix(now.Load(), 0) }
	})
	got := make(chan [2]string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- [2]string{r.Header.Get("Portico-Signature"), string(b)}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	var tenant int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM tenant LIMIT 1`).Scan(&tenant))
	by := audit.Event{Actor: audit.SystemActor()}
	h, err := s.AddWebhook(ctx, tenant, "001A", srv.URL, "whsec-0123456789abcdef", by)
	require.NoError(t, err)
	w := &webhookWorker{s: s}
	deliver := func() (string, []byte) {
		t.Helper()
		require.NoError(t, w.Work(ctx, &river.Job[WebhookArgs]{JobRow: &rivertype.JobRow{}, Args: WebhookArgs{HookID: h.ID,
			Payload: WebhookPayload{Event: WebhookPing, Account: "001A", OccurredAt: time.Now()}}}))
		d := <-got // the worker returned after the receiver answered
		return d[0], []byte(d[1])
	}
	sig, body := deliver()
	require.True(t, anyV1(sig, body, "whsec-0123456789abcdef"))
	require.Len(t, strings.Split(sig, ",v1="), 2, "one secret signs: %s", sig)

	rotated, err := s.RotateWebhookSecret(ctx, tenant, "001A", h.ID, by)
	require.NoError(t, err)
	var prev string
	require.NoError(t, pool.QueryRow(ctx, `SELECT previous_secret FROM notify_webhook WHERE id = $1`, h.ID).Scan(&prev))
	require.True(t, strings.HasPrefix(prev, sealedPrefix), "the replaced secret stays sealed")
	sig, body = deliver()
	require.Len(t, strings.Split(sig, ",v1="), 3, "both secrets sign: %s", sig)
	require.True(t, anyV1(sig, body, rotated), "the new secret signs")
	require.True(t, anyV1(sig, body, "whsec-0123456789abcdef"), "the replaced one still signs")
	require.False(t, anyV1(sig, body, "whsec-not-the-secret-at-all"))

	now.Add(int64(PreviousSecretOverlap/time.Second) + 1)
	sig, body = deliver()
	require.Len(t, strings.Split(sig, ",v1="), 2, "a day on, the new secret signs alone: %s", sig)
	require.True(t, anyV1(sig, body, rotated))
	require.False(t, anyV1(sig, body, "whsec-0123456789abcdef"))
	var dropped bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT previous_secret IS NULL AND previous_secret_until IS NULL FROM notify_webhook WHERE id = $1`, h.ID).Scan(&dropped))
	require.True(t, dropped, "the replaced secret is dropped from the row")
}
