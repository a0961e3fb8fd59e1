package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

// cases is /cases: support requests, their comments and timeline.
type cases struct{ a *API }

// CaseDetail is a case with its published comments and status timeline.
type CaseDetail struct {
	Record
	Comments []Record       `json:"comments"`
	Timeline []TimelineStep `json:"timeline"`
}

// TimelineStep is one moment in a case's life.
type TimelineStep struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"` // opened, comment, status, closed
	Status string    `json:"status"`
	Label  string    `json:"label"`
	Ref    string    `json:"ref"` // the comment id for comments
}

func (c cases) list(w http.ResponseWriter, r *http.Request) { c.a.list(w, r, "case") }

// Case reads a case with its published comments and timeline under the
// request's scope (WithScope); ErrNotFound as Record.
func (a *API) Case(ctx context.Context, id string) (*CaseDetail, error) {
	rec, err := a.Record(ctx, "case", id, false)
	if err != nil {
		return nil, err
	}
	out := CaseDetail{Record: *rec, Comments: []Record{}}
	if obj, scope, ok := a.object(ctx, "case_comment"); ok {
		filter := store.RecordFilter{CaseID: rec.ID, Order: store.OldestFirst, Limit: maxRelated}
		if out.Comments, err = a.related(ctx, obj, scope, filter); err != nil {
			return nil, err
		}
	}
	caseObj, scope, _ := a.object(ctx, "case")
	changes, err := a.statusChanges(ctx, scope, caseObj, rec.ID)
	if err != nil {
		return nil, err
	}
	out.Timeline = timeline(caseObj, out.Record, out.Comments, changes)
	return &out, nil
}

// statusChanges reads a record's status history (migration 067) under
// the scope, oldest first.
func (a *API) statusChanges(ctx context.Context, scope access.Scope, obj *mapping.Object, id string) ([]store.StatusChange, error) {
	out, err := store.ScopedStatusChanges(ctx, a.d.Read(ctx), scope.Store(), obj.Name(), obj.Public(), id, maxRelated)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return out, nil
}

// timeline tells a case's life: when it was opened, its comments, every
// status change the source confirmed (changes), when it closed, and where
// it stands now when that is not a confirmed change yet (a customer's
// pending close, or a case first seen after its last change).
func timeline(obj *mapping.Object, rec Record, comments []Record, changes []store.StatusChange) []TimelineStep {
	steps := []TimelineStep{}
	label := func(status string) string {
		l, _, _ := obj.StatusInfo(status)
		return l
	}
	at := func(fields json.RawMessage, name string) (time.Time, bool) {
		v := gjson.GetBytes(fields, name)
		if v.Type != gjson.String {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339, v.Str)
		return t, err == nil
	}
	if t, ok := at(rec.Fields, "created_at"); ok {
		steps = append(steps, TimelineStep{At: t, Kind: "opened", Status: "new", Label: label("new")})
	}
	for _, cm := range comments {
		if t, ok := at(cm.Fields, "created_at"); ok {
			steps = append(steps, TimelineStep{At: t, Kind: "comment", Ref: cm.ID})
		}
	}
	closedAt, closed := at(rec.Fields, "closed_at")
	closed = closed && rec.Status == "closed"
	for _, ch := range changes {
		if ch.Status == "" || ch.Status == "closed" && closed {
			continue // the closed step says it, at closed_at
		}
		steps = append(steps, TimelineStep{At: ch.At, Kind: "status", Status: ch.Status, Label: label(ch.Status)})
	}
	last := "new"
	if len(changes) > 0 {
		last = changes[len(changes)-1].Status
	}
	switch {
	case closed:
		steps = append(steps, TimelineStep{At: closedAt, Kind: "closed", Status: rec.Status, Label: rec.StatusLabel})
	case rec.Status != "" && rec.Status != last && rec.UpdatedAt != nil:
		steps = append(steps, TimelineStep{At: *rec.UpdatedAt, Kind: "status", Status: rec.Status, Label: rec.StatusLabel})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	return steps
}

// create opens a case from the intake form; the mapping validates it.
func (c cases) create(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.a.object(r.Context(), "case"); !ok {
		c.a.rp.Error(w, r, http.StatusForbidden, "forbidden", "your role cannot open cases")
		return
	}
	var input map[string]any
	if !c.a.decode(w, r, &input) {
		return
	}
	c.a.submit(w, r, Submission{Object: "case", Op: mapping.OpCreate, Input: jsonNumbers(input)})
}

// CommentInput is the body of POST /cases/{id}/comments.
type CommentInput struct {
	Body *string `json:"body"`
}

func (c cases) comment(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.a.object(r.Context(), "case_comment"); !ok {
		c.a.notFound(w, r)
		return
	}
	rec, _ := c.a.record(w, r, "case", chi.URLParam(r, "id"))
	if rec == nil {
		return
	}
	var in CommentInput
	if !c.a.decode(w, r, &in) {
		return
	}
	input := map[string]any{"case_id": rec.ID}
	if in.Body != nil {
		input["body"] = *in.Body
	}
	c.a.submit(w, r, Submission{Object: "case_comment", Op: mapping.OpCreate, Input: input})
}

func (c cases) close(w http.ResponseWriter, r *http.Request) {
	rec, _ := c.a.record(w, r, "case", chi.URLParam(r, "id"))
	if rec == nil || !c.a.emptyBody(w, r) {
		return
	}
	if rec.Status == "closed" {
		c.a.rp.Error(w, r, http.StatusConflict, "already_closed", "this case is already closed")
		return
	}
	c.a.submit(w, r, Submission{Object: "case", Op: mapping.OpUpdate, RecordID: rec.ID, Input: map[string]any{"status": "closed"}})
}

// emptyBody accepts no body or an empty JSON object, for actions that
// take no input.
func (a *API) emptyBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength == 0 {
		return true
	}
	var none struct{}
	return a.decode(w, r, &none)
}
