package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/mapping"
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

func (c cases) get(w http.ResponseWriter, r *http.Request) {
	rec, _ := c.a.record(w, r, "case", chi.URLParam(r, "id"))
	if rec == nil {
		return
	}
	out := CaseDetail{Record: *rec, Comments: []Record{}}
	if obj, scope, ok := c.a.object(r.Context(), "case_comment"); ok {
		q := &query{obj: obj, scope: scope, limit: maxRelated,
			order: `coalesce(r.source_modified, '-infinity'), r.source_id`}
		q.where = `r.data->'fields'->>'case_id' = ` + q.arg(rec.ID)
		comments, err := c.a.related(r.Context(), q)
		if err != nil {
			c.a.rp.internal(w, r, err)
			return
		}
		out.Comments = comments
	}
	caseObj, _ := c.a.d.Mappings.Object("case")
	out.Timeline = timeline(caseObj, out.Record, out.Comments)
	c.a.rp.get(w, r, out)
}

// timeline derives a case's history from what the cache holds: when it
// was opened, its comments, when it closed, and where it stands now. The
// cache keeps a record's current state only, so intermediate status
// changes between syncs are not in it.
func timeline(obj *mapping.Object, rec Record, comments []Record) []TimelineStep {
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
	switch {
	case closed && rec.Status == "closed":
		steps = append(steps, TimelineStep{At: closedAt, Kind: "closed", Status: rec.Status, Label: rec.StatusLabel})
	case rec.Status != "" && rec.Status != "new" && rec.UpdatedAt != nil:
		steps = append(steps, TimelineStep{At: *rec.UpdatedAt, Kind: "status", Status: rec.Status, Label: rec.StatusLabel})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	return steps
}

// create opens a case from the intake form; the mapping validates it.
func (c cases) create(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.a.object(r.Context(), "case"); !ok {
		c.a.rp.error(w, http.StatusForbidden, "forbidden", "your role cannot open cases", nil)
		return
	}
	var input map[string]any
	if !c.a.rp.decode(w, r, &input) {
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
		c.a.rp.notFound(w)
		return
	}
	rec, _ := c.a.record(w, r, "case", chi.URLParam(r, "id"))
	if rec == nil {
		return
	}
	var in CommentInput
	if !c.a.rp.decode(w, r, &in) {
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
		c.a.rp.error(w, http.StatusConflict, "already_closed", "this case is already closed", nil)
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
	return a.rp.decode(w, r, &none)
}
