// Package hooks receives the sources' change notices at
// POST /hooks/{connection}: it has the connection's connector verify the
// signature, enqueues one targeted refresh per named record (unique jobs
// collapse a flood) and answers 202 at once. It stores nothing itself.
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/syncer"
)

// maxBody caps a notice; real ones are a few kilobytes.
const maxBody = 1 << 20

// Lookup finds a connection's connector.
type Lookup func(connection string) (connectors.Connector, bool)

// Enqueue schedules refreshes.
type Enqueue func(ctx context.Context, refreshes []syncer.RefreshArgs) error

// Handler serves /hooks.
type Handler struct {
	Lookup  Lookup
	Enqueue Enqueue
	// PublicURL is the portal's external base URL; signatures that cover
	// the notification URL are checked against PublicURL + the path.
	PublicURL string
	Logger    *slog.Logger
}

// Routes returns the sub-router to mount at /hooks.
func (h *Handler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/{connection}", h.receive)
	return r
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := chi.URLParam(r, "connection")
	conn, ok := h.Lookup(name)
	verifier, canVerify := conn.(connectors.WebhookVerifier)
	if !ok || !canVerify {
		writeError(w, http.StatusNotFound, "not_found", "no webhook endpoint for this connection")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "notice body is too large")
		return
	}
	url := strings.TrimRight(h.PublicURL, "/") + r.URL.Path
	changes, err := verifier.VerifyWebhook(ctx, connectors.WebhookRequest{URL: url, Header: r.Header, Body: body})
	if errors.Is(err, connectors.ErrInvalidSignature) {
		h.Logger.WarnContext(ctx, "webhook with an invalid signature",
			slog.String("connection", name), slog.String("remote", r.RemoteAddr),
			slog.String("request_id", middleware.GetReqID(ctx)))
		writeError(w, http.StatusUnauthorized, "invalid_signature", "signature does not verify")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "cannot read the notice: "+err.Error())
		return
	}
	refreshes := make([]syncer.RefreshArgs, 0, len(changes))
	for _, c := range changes {
		refreshes = append(refreshes, syncer.RefreshArgs{Connection: name, Object: c.Object, ID: c.ID})
	}
	if len(refreshes) > 0 {
		if err := h.Enqueue(ctx, refreshes); err != nil {
			h.Logger.ErrorContext(ctx, "enqueueing webhook refreshes", slog.String("connection", name), slog.String("error", err.Error()))
			// 503 makes the source retry the notice later.
			writeError(w, http.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = fmt.Fprintf(w, `{"accepted":%d}`, len(refreshes))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "fields": []any{}}})
}
