package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/jsonbody"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// EraseRequest is the body of POST /admin/privacy/erasures.
type EraseRequest struct {
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

// SourceTask is one record staff must erase at its source, or whose
// erasure request is on its way.
type SourceTask struct {
	ID         int64     `json:"id"`
	ErasureID  int64     `json:"erasure_id"`
	Pseudonym  string    `json:"pseudonym"`
	Connection string    `json:"connection"`
	Object     string    `json:"object"`
	SourceID   string    `json:"source_id"`
	State      string    `json:"state"`
	Detail     *string   `json:"detail"`
	CreatedAt  time.Time `json:"created_at"`
}

// AdminRoutes serves /admin/privacy for staff: erase a person
// (POST /erasures with email and reason), the open source tasks
// (GET /tasks), and the record of processing (GET /processing).
func (s *Service) AdminRoutes() chi.Router {
	r := chi.NewRouter()
	rp := reply.New(s.o.Logger)
	r.Post("/erasures", func(w http.ResponseWriter, req *http.Request) {
		var in EraseRequest
		if e := jsonbody.Read(w, req, 16<<10, &in); e != nil {
			rp.Fail(w, req, e)
			return
		}
		rep, err := s.Erase(req.Context(), in.Email, in.Reason, audit.ActorFrom(req.Context(), audit.TokenActor("admin")))
		var bad *ErrInvalid
		switch {
		case errors.As(err, &bad):
			rp.Invalid(w, req, reply.Field{Path: bad.Field, Message: bad.Message})
		case errors.Is(err, ErrNoSubject):
			rp.Error(w, req, http.StatusNotFound, "not_found", "nobody in the portal has this email", reply.Field{Path: "email", Message: "nobody in the portal has this email"})
		case err != nil:
			rp.Internal(w, req, err)
		default:
			rp.JSON(w, req, http.StatusOK, rep)
		}
	})
	r.Get("/tasks", func(w http.ResponseWriter, req *http.Request) {
		out, err := s.OpenTasks(req.Context())
		if err != nil {
			rp.Internal(w, req, err)
			return
		}
		rp.JSON(w, req, http.StatusOK, map[string]any{"tasks": out})
	})
	r.Get("/processing", func(w http.ResponseWriter, req *http.Request) {
		rp.JSON(w, req, http.StatusOK, map[string]any{"activities": Processing(s.o.Registry, s.o.Config.Retention)})
	})
	return r
}

// OpenTasks are the source records of erased people that staff must
// still erase at the source, or whose erasure request is on its way.
func (s *Service) OpenTasks(ctx context.Context) ([]SourceTask, error) {
	rows, err := store.PrivacySourceRequestsOpen(ctx, s.o.Pool, s.o.TenantID)
	if err != nil {
		return nil, err
	}
	out := make([]SourceTask, len(rows))
	for i, t := range rows {
		out[i] = SourceTask{ID: t.ID, ErasureID: t.ErasureID, Pseudonym: t.Pseudonym, Connection: t.Connection, Object: t.Object,
			SourceID: t.SourceID, State: t.State, Detail: optText(t.Detail), CreatedAt: t.CreatedAt.Time}
	}
	return out, nil
}

// ErrNoErasure means the tenant has no erasure of that id.
var ErrNoErasure = errors.New("privacy: no such erasure")

// ErasureReport is the report kept with erasure id (ErrNoErasure when the
// tenant has none of that id), for a page that shows an erasure's outcome
// after the request that made it.
func (s *Service) ErasureReport(ctx context.Context, id int64) (Report, error) {
	b, err := store.PrivacyErasureGet(ctx, s.o.Pool, store.PrivacyErasureGetParams{ID: id, TenantID: s.o.TenantID})
	if errors.Is(err, store.ErrNotFound) {
		return Report{}, ErrNoErasure
	}
	if err != nil {
		return Report{}, fmt.Errorf("privacy: erasure %d: %w", id, err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return Report{}, fmt.Errorf("privacy: erasure %d: %w", id, err)
	}
	return rep, nil
}
