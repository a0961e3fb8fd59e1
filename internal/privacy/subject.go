package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/store"
)

// ErrNoSubject means nothing in Portico names the person: no user has
// the address, and no cached contact.
var ErrNoSubject = errors.New("privacy: nobody with this email")

// Subject is the person an export or erasure is for, as Portico knows
// them: their user (if any), and the CRM contact the user is (or whose
// address it is) with the identifiers the cache holds.
type Subject struct {
	TenantID  int64
	UserID    int64 // 0: no user has the address
	Email     string
	AccountID string
	Staff     bool
	// The cached contact: its connection and source id, and the name
	// and phone it holds.
	ContactConnection string
	ContactID         string
	FirstName         string
	LastName          string
	Phone             string
}

// AuditSubjects are the audit subjects whose keys seal the person's
// audit fields.
func (s Subject) AuditSubjects() []string {
	out := []string{audit.EmailSubject(s.Email)}
	if s.UserID > 0 {
		out = append(out, audit.UserSubject(s.UserID))
	}
	return out
}

// AuditSubject is the one subject new events about the person are
// sealed under: their user, or their address when they have none.
func (s Subject) AuditSubject() string {
	if s.UserID > 0 {
		return audit.UserSubject(s.UserID)
	}
	return audit.EmailSubject(s.Email)
}

// FullName is the contact's name as one string.
func (s Subject) FullName() string {
	return strings.TrimSpace(s.FirstName + " " + s.LastName)
}

// FindSubject looks the person up by email in the tenant.
func FindSubject(ctx context.Context, db store.DBTX, tenantID int64, email string) (Subject, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	s := Subject{TenantID: tenantID, Email: email}
	u, err := store.AuthUserByEmail(ctx, db, store.AuthUserByEmailParams{TenantID: tenantID, Email: email})
	switch {
	case err == nil:
		s.UserID, s.AccountID, s.Staff = u.ID, u.AccountID.String, u.Staff
		s.ContactID = u.ContactID.String
	case !errors.Is(err, store.ErrNotFound):
		return s, fmt.Errorf("privacy: finding the user: %w", err)
	}
	if s.ContactID == "" {
		found, err := store.RecordContactsByEmail(ctx, db, store.RecordContactsByEmailParams{TenantID: tenantID, Email: email})
		if err != nil {
			return s, fmt.Errorf("privacy: finding the contact: %w", err)
		}
		if len(found) == 1 {
			s.ContactID = found[0].Contact
			if s.AccountID == "" {
				s.AccountID = found[0].Account
			}
		}
	}
	if s.ContactID != "" {
		rec, err := store.PrivacyRecord(ctx, db, store.PrivacyRecordParams{TenantID: tenantID, Object: "contact", SourceID: s.ContactID})
		switch {
		case err == nil:
			s.ContactConnection = rec.Connection
			var d struct {
				Fields map[string]any `json:"fields"`
			}
			if json.Unmarshal(rec.Data, &d) == nil {
				s.FirstName, s.LastName, s.Phone = str(d.Fields["first_name"]), str(d.Fields["last_name"]), str(d.Fields["phone"])
			}
		case !errors.Is(err, store.ErrNotFound):
			return s, fmt.Errorf("privacy: reading the contact: %w", err)
		}
	}
	if s.UserID == 0 && s.ContactID == "" {
		return s, fmt.Errorf("%w: %s", ErrNoSubject, email)
	}
	return s, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
