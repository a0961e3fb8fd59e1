package syncer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

// TestAdminSyncErrorsAreLoggedAndShaped: POST /admin/sync refuses a bad
// mode in the one error shape, and a sync that cannot be scheduled is a
// 500 logged with the request id and the cause.
func TestAdminSyncErrorsAreLoggedAndShaped(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	logs := logtest.New()
	s := syncer.New(syncer.Options{Mappings: set, Logger: logs.Logger(),
		Connectors: map[string]connectors.Connector{"salesforce": nil}})
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Mount("/", s.AdminRoutes(nil, func(syncer.AdminRequest) error { return errors.New("queue is gone") }))

	post := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, nil))
		return w
	}
	w := post("/salesforce/Case?mode=sideways")
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.JSONEq(t, `{"error":{"code":"invalid","message":"mode must be incremental, full or reconcile",
		"fields":[{"path":"mode","message":"mode must be incremental, full or reconcile"}]}}`, w.Body.String())
	require.Empty(t, logs.Matching("server error"), "a refusal is not a server error")

	w = post("/salesforce/Case")
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.JSONEq(t, `{"error":{"code":"internal","message":"could not schedule the sync"}}`, w.Body.String())
	failed := logs.Matching("server error")
	require.Len(t, failed, 1)
	id, _ := failed[0].Value("request_id")
	require.NotEmpty(t, id.String())
	cause, _ := failed[0].Value("error")
	require.Contains(t, cause.String(), "queue is gone")
}

// TestRefreshOfAnUnmappedObjectIsCancelled: a webhook names every object
// its source changed (QuickBooks' Customer, which no shipped mapping
// reads); its refresh is cancelled, not retried 25 times.
func TestRefreshOfAnUnmappedObjectIsCancelled(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	s := syncer.New(syncer.Options{Mappings: set, Logger: logtest.New().Logger(),
		Connectors: map[string]connectors.Connector{"accounting": nil}})
	w := &syncer.RefreshWorker{Syncer: s}
	for _, args := range []syncer.RefreshArgs{
		{Connection: "accounting", Object: "Customer", ID: "1"},
		{Connection: "gone", Object: "Invoice", ID: "1"},
	} {
		err := w.Work(context.Background(), &river.Job[syncer.RefreshArgs]{Args: args})
		var cancel *river.JobCancelError
		require.ErrorAs(t, err, &cancel, "%+v", args)
		require.ErrorIs(t, err, syncer.ErrNotSynced)
	}
}
