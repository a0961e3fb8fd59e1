package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// Me is GET /me: who is logged in, for which account, and how they want
// to be told about changes.
type Me struct {
	User          *auth.Principal `json:"user"`
	Account       *Record         `json:"account"`
	Roles         []string        `json:"roles"`
	Notifications Notifications   `json:"notifications"`
}

// Notifications are a user's notification preferences; a user who never
// set them gets everything by email.
type Notifications struct {
	Email         bool `json:"email"`
	CaseUpdates   bool `json:"case_updates"`
	OrderUpdates  bool `json:"order_updates"`
	InvoiceIssued bool `json:"invoice_issued"`
	Approvals     bool `json:"approvals"`
}

// NotificationsPatch is the body of PATCH /me/notifications: the
// preferences to change.
type NotificationsPatch struct {
	Email         *bool `json:"email"`
	CaseUpdates   *bool `json:"case_updates"`
	OrderUpdates  *bool `json:"order_updates"`
	InvoiceIssued *bool `json:"invoice_issued"`
	Approvals     *bool `json:"approvals"`
}

var defaultNotifications = Notifications{Email: true, CaseUpdates: true, OrderUpdates: true, InvoiceIssued: true, Approvals: true}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	out := Me{User: p, Roles: p.Roles}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	var err error
	if out.Notifications, err = notifications(r.Context(), a.d.Pool, p); err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	if p.AccountID != "" {
		if _, scope, ok := a.object(r.Context(), "account"); ok {
			rec, err := a.d.Records.Get(r.Context(), scope, "account", p.AccountID, records.GetOptions{})
			switch {
			case err == nil:
				v := view(*rec)
				out.Account = &v
			case !errors.Is(err, records.ErrNotFound): // not synced yet: null
				a.rp.Internal(w, r, err)
				return
			}
		}
	}
	a.rp.Get(w, r, out)
}

func notifications(ctx context.Context, db store.DBTX, p *auth.Principal) (Notifications, error) {
	row, err := store.NotificationPreferenceGet(ctx, db, store.NotificationPreferenceGetParams{TenantID: p.TenantID, UserID: p.UserID})
	if errors.Is(err, store.ErrNotFound) {
		return defaultNotifications, nil
	}
	if err != nil {
		return Notifications{}, fmt.Errorf("api: notification preferences: %w", err)
	}
	return Notifications{Email: row.Email, CaseUpdates: row.CaseUpdates, OrderUpdates: row.OrderUpdates, InvoiceIssued: row.InvoiceIssued, Approvals: row.Approvals}, nil
}

// patchNotifications changes the user's own preferences and audits the
// change in the same transaction.
func (a *API) patchNotifications(w http.ResponseWriter, r *http.Request) {
	var in NotificationsPatch
	if !a.decode(w, r, &in) {
		return
	}
	after, err := a.SetNotifications(r, in)
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	a.rp.JSON(w, r, http.StatusOK, after)
}

// Notifications are the context's user's notification preferences.
func (a *API) Notifications(ctx context.Context) (Notifications, error) {
	return notifications(ctx, a.d.Pool, auth.PrincipalFrom(ctx))
}

// SetNotifications changes the request's user's own preferences (the
// fields in is not nil for) and audits the change in the same
// transaction; it returns the preferences now. PATCH /me/notifications
// and the portal's profile page change them through it.
func (a *API) SetNotifications(r *http.Request, in NotificationsPatch) (Notifications, error) {
	p := auth.PrincipalFrom(r.Context())
	var after Notifications
	err := pgx.BeginFunc(r.Context(), a.d.Pool, func(tx pgx.Tx) error {
		before, err := notifications(r.Context(), tx, p)
		if err != nil {
			return err
		}
		after = before
		for _, f := range []struct {
			in  *bool
			out *bool
		}{{in.Email, &after.Email}, {in.CaseUpdates, &after.CaseUpdates}, {in.OrderUpdates, &after.OrderUpdates}, {in.InvoiceIssued, &after.InvoiceIssued}, {in.Approvals, &after.Approvals}} {
			if f.in != nil {
				*f.out = *f.in
			}
		}
		if _, err := store.NotificationPreferencePut(r.Context(), tx, store.NotificationPreferencePutParams{
			UserID: p.UserID, TenantID: p.TenantID, Email: after.Email, CaseUpdates: after.CaseUpdates,
			OrderUpdates: after.OrderUpdates, InvoiceIssued: after.InvoiceIssued, Approvals: after.Approvals,
		}); err != nil {
			return fmt.Errorf("api: saving notification preferences: %w", err)
		}
		return audit.Record(r.Context(), tx, audit.Event{
			TenantID: p.TenantID, Actor: actorOf(p), AccountID: p.AccountID, Action: "user.notifications_update",
			Object: "user", ObjectID: strconvI(p.UserID), Before: before, After: after,
		}.WithRequest(r))
	})
	return after, err
}

// ContactPatch is the body of PATCH /me/contact: the user's own contact
// details to change (only the fields sent).
type ContactPatch struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Phone     *string `json:"phone"`
	Title     *string `json:"title"`
}

// Input is the patch as a write-back's input: the fields sent.
func (c ContactPatch) Input() map[string]any {
	in := map[string]any{}
	for name, v := range map[string]*string{"first_name": c.FirstName, "last_name": c.LastName, "phone": c.Phone, "title": c.Title} {
		if v != nil {
			in[name] = *v
		}
	}
	return in
}

// patchContact answers PATCH /me/contact: an update_contact write-back of
// the user's own contact (202), validated by the contact mapping (422).
func (a *API) patchContact(w http.ResponseWriter, r *http.Request) {
	if MyContactID(r.Context()) == "" {
		a.notFound(w, r)
		return
	}
	var in ContactPatch
	if !a.decode(w, r, &in) {
		return
	}
	if len(in.Input()) == 0 {
		a.rp.Invalid(w, r, reply.Field{Path: "body", Message: "names no field to change"})
		return
	}
	a.submit(w, r, a.ContactUpdate(r.Context(), in.Input()))
}

// ContactUpdate is the submission that changes the request's user's own
// contact details to input (their contact's fields); a user without a
// contact (staff) gets the answer for a record that does not exist.
func (a *API) ContactUpdate(ctx context.Context, input map[string]any) Submission {
	return Submission{Object: "contact", Op: mapping.OpUpdate, RecordID: MyContactID(ctx), Input: input}
}

// MyContactID is the request's user's own contact; "" for none, which no
// record has.
func MyContactID(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.ContactID
	}
	return ""
}
