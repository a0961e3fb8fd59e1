package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
)

// A webhook that keeps failing is retried (each failure counted), then
// disabled with the reason, and its queued deliveries stop; a success in
// between resets the count. The signature verifies with the secret.
func TestWebhookIsDisabledAfterRepeatedFailureWithTheReason(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	s := testService(t, pool, func(o *Options) { o.WebhookMaxFailures, o.WebhookPrivateTargets = 3, true })
	var status atomic.Int32
	status.Store(http.StatusInternalServerError)
	var lastSig atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastSig.Store(r.Header.Get("Portico-Signature"))
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	var tenant int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM tenant LIMIT 1`).Scan(&tenant))
	by := audit.Event{Actor: audit.SystemActor()}
	_, err := s.AddWebhook(ctx, tenant, "001A", "ftp://x", "short", by)
	require.Equal(t, "secret", Field(err))
	h, err := s.AddWebhook(ctx, tenant, "001A", srv.URL, "whsec-0123456789abcdef", by)
	require.NoError(t, err)
	id := h.ID

	w := &webhookWorker{s: s}
	job := func() *river.Job[WebhookArgs] {
		return &river.Job[WebhookArgs]{JobRow: &rivertype.JobRow{}, Args: WebhookArgs{HookID: id,
			Payload: WebhookPayload{ID: 7, Event: EventCaseStatus, Object: "case", RecordID: "500A", Account: "001A", OccurredAt: time.Now()}}}
	}
	require.Error(t, w.Work(ctx, job()), "a 500 is retried")
	require.Error(t, w.Work(ctx, job()))
	status.Store(http.StatusNoContent)
	require.NoError(t, w.Work(ctx, job()), "a success resets the count")
	hooks, err := s.Webhooks(ctx, tenant, "001A")
	require.NoError(t, err)
	require.Equal(t, &Delivery{At: hooks[0].LastDelivery.At, OK: true}, hooks[0].LastDelivery)
	sig, _ := lastSig.Load().(string)
	require.Regexp(t, `^t=\d+,v1=[0-9a-f]{64}$`, sig)
	status.Store(http.StatusBadGateway)
	require.Error(t, w.Work(ctx, job()))
	require.Error(t, w.Work(ctx, job()))
	hooks, err = s.Webhooks(ctx, tenant, "001A")
	require.NoError(t, err)
	require.False(t, hooks[0].Disabled, "two failures in a row")
	err = w.Work(ctx, job())
	var cancel *river.JobCancelError
	require.True(t, errors.As(err, &cancel), "the third failure in a row disables it: no more retries")
	hooks, err = s.Webhooks(ctx, tenant, "001A")
	require.NoError(t, err)
	require.True(t, hooks[0].Disabled)
	require.Contains(t, hooks[0].DisabledReason, "answered 502")
	// The last delivery shows how it went.
	require.NotNil(t, hooks[0].LastDelivery)
	require.False(t, hooks[0].LastDelivery.OK)
	require.Contains(t, hooks[0].LastDelivery.Error, "answered 502")
	require.WithinDuration(t, time.Now(), hooks[0].LastDelivery.At, time.Minute)
	// Queued deliveries of a disabled hook stop without a request.
	status.Store(http.StatusNoContent)
	lastSig.Store("")
	require.True(t, errors.As(w.Work(ctx, job()), &cancel))
	require.Equal(t, "", lastSig.Load())
}
