package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/privacy"
)

// The console's erasure (GDPR Art. 17): staff name the person by email,
// give the reason and confirm, and the page shows what the erasure did,
// through the same privacy service as POST /admin/privacy/erasures.

type privacyPart struct {
	Name  string
	Count int64
}

type privacyTask struct {
	Pseudonym, Record, State, Detail, Created string
}

type privacyPage struct {
	Done  *privacy.Report
	Parts []privacyPart
	Tasks []privacyTask
}

func (wb *Web) consolePrivacy(w http.ResponseWriter, r *http.Request) {
	wb.showConsolePrivacy(w, r, http.StatusOK, nil, nil)
}

// showConsolePrivacy renders the page: after an erasure with its report
// (done), after a refusal with the message key of each refused field.
func (wb *Web) showConsolePrivacy(w http.ResponseWriter, r *http.Request, status int, done *privacy.Report, refused map[string]string) {
	if wb.d.Privacy == nil {
		wb.notFound(w, r)
		return
	}
	tasks, err := wb.d.Privacy.OpenTasks(r.Context())
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("console.privacy.title"), nil)
	v.Section = "console"
	p := privacyPage{Done: done}
	if done != nil {
		v.Notice = key("console.privacy.erased")
		for name, n := range done.Parts {
			p.Parts = append(p.Parts, privacyPart{Name: name, Count: n})
		}
		slices.SortFunc(p.Parts, func(a, b privacyPart) int {
			if a.Name < b.Name {
				return -1
			}
			return 1
		})
	}
	for _, t := range tasks {
		row := privacyTask{Pseudonym: t.Pseudonym, Record: t.Connection + " " + t.Object + " " + t.SourceID,
			State: v.L.T("console.privacy.state." + t.State), Created: v.L.DateTime(t.CreatedAt)}
		if t.Detail != nil {
			row.Detail = *t.Detail
		}
		p.Tasks = append(p.Tasks, row)
	}
	v.Page = p
	if len(refused) > 0 {
		v.Alert = key("form.fix_fields")
		for _, f := range []string{"email", "reason"} {
			v.Form[f] = r.PostForm.Get(f)
		}
		for f, k := range refused {
			v.Fields[f] = v.L.T(k)
		}
	}
	wb.render(w, r, status, "console_privacy", v)
}

// consoleErase erases the person the form names, audited as the
// signed-in staff member. Without the confirmation, or with a bad field,
// nothing is erased and the form says why beside the field.
func (wb *Web) consoleErase(w http.ResponseWriter, r *http.Request) {
	if wb.d.Privacy == nil {
		wb.notFound(w, r)
		return
	}
	refuse := func(field, msg string) {
		wb.showConsolePrivacy(w, r, http.StatusUnprocessableEntity, nil, map[string]string{field: msg})
	}
	if r.PostForm.Get("confirm") != "yes" {
		refuse("confirm", key("console.privacy.bad_confirm"))
		return
	}
	by := audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10))
	rep, err := wb.d.Privacy.Erase(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("reason"), by)
	var bad *privacy.ErrInvalid
	switch {
	case errors.As(err, &bad) && bad.Field == "email":
		refuse("email", key("console.privacy.bad_email"))
	case errors.As(err, &bad):
		refuse("reason", key("console.privacy.bad_reason"))
	case errors.Is(err, privacy.ErrNoSubject):
		refuse("email", key("console.privacy.no_subject"))
	case err != nil:
		wb.internal(w, r, err)
	default:
		// The outcome is a page of its own, so that reloading it shows
		// the report again instead of posting the erasure again.
		http.Redirect(w, r, "/console/privacy/erasures/"+strconv.FormatInt(rep.ErasureID, 10)+"#erased-heading", http.StatusSeeOther)
	}
}

// consoleErasure shows the report of an earlier erasure above the form.
func (wb *Web) consoleErasure(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || wb.d.Privacy == nil {
		wb.notFound(w, r)
		return
	}
	rep, err := wb.d.Privacy.ErasureReport(r.Context(), id)
	switch {
	case errors.Is(err, privacy.ErrNoErasure):
		wb.notFound(w, r)
	case err != nil:
		wb.internal(w, r, err)
	default:
		wb.showConsolePrivacy(w, r, http.StatusOK, &rep, nil)
	}
}
