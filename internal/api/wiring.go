package api

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/store"
)

// AuthAuditor records the identity service's events (logins, logouts,
// invitations, tokens) in the audit log.
type AuthAuditor struct{ Log *audit.Log }

// Record implements auth.Auditor.
func (aa AuthAuditor) Record(ctx context.Context, e auth.Event) error {
	actor := audit.UserActor("anonymous")
	if id, ok := strings.CutPrefix(e.Actor, "user:"); ok && id != "" {
		actor = audit.UserActor(id)
	} else if id, ok := strings.CutPrefix(e.Actor, "staff:"); ok && id != "" {
		actor = audit.StaffActor(id) // a staff change (auth.Service.Staff*)
	} else if id, ok := strings.CutPrefix(e.Actor, "token:"); ok && id != "" {
		actor = audit.TokenActor(id) // the admin token on /admin/users
	}
	// The actor's address is kept where it says who tried (nobody was
	// signed in) or whom the event is about (the actor's own user); a
	// signed-in actor acting on someone else is named by id alone, so
	// their address is not sealed under the other person's key
	// (audit.Event.Subject).
	after := map[string]any{}
	subject := ""
	if e.ActorName != "" && (actor.ID == "anonymous" || e.Object == "user" && e.ObjectID == actor.ID) {
		after["email"] = e.ActorName
		if actor.ID == "anonymous" {
			subject = audit.EmailSubject(e.ActorName)
		}
	}
	for k, v := range e.Detail {
		after[k] = v
	}
	ev := audit.Event{
		TenantID: e.TenantID, OccurredAt: e.At, Actor: actor, AccountID: e.AccountID,
		UserAgent: e.UserAgent, Action: e.Action, Object: e.Object, ObjectID: e.ObjectID, After: after,
		Subject: subject,
	}
	if e.Before != nil {
		ev.Before = e.Before
	}
	if ip, err := netip.ParseAddr(e.IP); err == nil {
		ev.IP = ip
	}
	return aa.Log.Record(ctx, ev)
}

// ContactByEmail finds a CRM contact in the cache by email, for single
// sign-on with auth.unknown_oidc_email: match_contact. An email shared by
// several contacts matches none: guessing would hand out an account.
func ContactByEmail(pool *pgxpool.Pool) func(ctx context.Context, tenantID int64, email string) (string, string, bool, error) {
	return func(ctx context.Context, tenantID int64, email string) (string, string, bool, error) {
		found, err := store.RecordContactsByEmail(ctx, pool, store.RecordContactsByEmailParams{TenantID: tenantID, Email: email})
		if err != nil {
			return "", "", false, fmt.Errorf("api: contact by email: %w", err)
		}
		if len(found) != 1 {
			return "", "", false, nil
		}
		return found[0].Account, found[0].Contact, true, nil
	}
}

// ContactInAccount reports whether a CRM contact in the cache belongs to
// the account, for invitations: a user may be tied only to a contact of
// the account they are invited into.
func ContactInAccount(pool *pgxpool.Pool) func(ctx context.Context, tenantID int64, accountID, contactID string) (bool, error) {
	return func(ctx context.Context, tenantID int64, accountID, contactID string) (bool, error) {
		ok, err := store.RecordContactInAccount(ctx, pool, store.RecordContactInAccountParams{TenantID: tenantID, AccountID: accountID, ContactID: contactID})
		if err != nil {
			return false, fmt.Errorf("api: contact in account: %w", err)
		}
		return ok, nil
	}
}
