package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/store"
)

// Builtin returns the parts for the data Portico's own tables hold about
// a person, in export and erasure order. files opens uploads for the
// export.
func Builtin(fs *files.Service) []Part {
	return []Part{
		userPart(), contactPart(), recordsPart("cases", "case", "the support cases the person raised, as the CRM holds them"),
		commentsPart(), cacheMentionsPart(), actionsPart(), consentsPart(), sessionsPart(), tokensPart(),
		loginFailuresPart(), mailLogPart(), notificationsPart(), filesPart(fs), exportsPart(), auditPart(),
	}
}

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

func optTime(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

func optText(t pgtype.Text) *string {
	if !t.Valid {
		return nil
	}
	return &t.String
}

func userPart() Part {
	type user struct {
		ID          int64      `json:"id"`
		Email       string     `json:"email"`
		AccountID   *string    `json:"account_id"`
		ContactID   *string    `json:"contact_id"`
		Roles       []string   `json:"roles"`
		Staff       bool       `json:"staff"`
		Status      string     `json:"status"`
		Locale      string     `json:"locale"`
		CreatedAt   *time.Time `json:"created_at"`
		LastLoginAt *time.Time `json:"last_login_at"`
		HasPassword bool       `json:"has_password"`
	}
	return Part{
		Name: "user", Holds: "portal user: email, account, contact, roles, status, language, sign-in times (auth_user)",
		Purpose: "signing in and scoping what the person may see", Basis: "contract (Art. 6(1)(b))",
		Until: "the user is erased; a disabled user stays as a pseudonym that actions and audit events name",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.UserID == 0 {
				return nil, nil
			}
			u, err := store.AuthUserByID(ctx, db, s.UserID)
			if err != nil {
				return nil, err
			}
			return user{ID: u.ID, Email: u.Email, AccountID: optText(u.AccountID), ContactID: optText(u.ContactID), Roles: u.Roles,
				Staff: u.Staff, Status: u.Status, Locale: u.Locale, CreatedAt: optTime(u.CreatedAt), LastLoginAt: optTime(u.LastLoginAt),
				HasPassword: u.PasswordHash.Valid}, nil
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return 1, store.PrivacyUserErase(ctx, db, store.PrivacyUserEraseParams{ID: s.UserID, Pseudonym: e.PseudonymEmail()})
		},
	}
}

// cached is a record of the cache as exported.
type cached struct {
	Connection string          `json:"connection"`
	Object     string          `json:"object"`
	SourceID   string          `json:"source_id"`
	Data       json.RawMessage `json:"data"`
	SyncedAt   *time.Time      `json:"synced_at"`
}

func contactPart() Part {
	return Part{
		Name: "contact", Holds: "the CRM contact the person is, as cached from the source (record, object contact)",
		Purpose: "showing the person their details and keeping the cache in step with the CRM", Basis: "contract (Art. 6(1)(b))",
		Until: "the source deletes the contact, or an erasure (the cache keeps the erased contact out from then on)",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.ContactID == "" {
				return nil, nil
			}
			r, err := store.PrivacyRecord(ctx, db, store.PrivacyRecordParams{TenantID: s.TenantID, Object: "contact", SourceID: s.ContactID})
			if err != nil {
				return nil, ignoreNotFound(err)
			}
			return cached{Connection: r.Connection, Object: r.Object, SourceID: r.SourceID, Data: r.Data, SyncedAt: optTime(r.SyncedAt)}, nil
		},
		Erase: eraseContact,
	}
}

func cachedOf(rows []store.PrivacyRecordsByContactRow) []cached {
	out := make([]cached, len(rows))
	for i, r := range rows {
		out[i] = cached{Connection: r.Connection, Object: r.Object, SourceID: r.SourceID, Data: r.Data, SyncedAt: optTime(r.SyncedAt)}
	}
	return out
}

func recordsPart(name, object, holds string) Part {
	return Part{
		Name: name, Holds: holds + " (record, object " + object + ")", Purpose: "self-service: the person's own records",
		Basis: "contract (Art. 6(1)(b))", Until: "the source deletes the record (the source owns it)",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.ContactID == "" {
				return []cached{}, nil
			}
			rows, err := store.PrivacyRecordsByContact(ctx, db, store.PrivacyRecordsByContactParams{TenantID: s.TenantID, Object: object, ContactID: pgtype.Text{String: s.ContactID, Valid: true}})
			return cachedOf(rows), err
		},
	}
}

func commentsPart() Part {
	return Part{
		Name: "comments", Holds: "comments on the person's cases, as cached from the CRM (record, object case_comment)",
		Purpose: "self-service: the conversation on the person's cases", Basis: "contract (Art. 6(1)(b))",
		Until: "the source deletes the comment (the source owns it)",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.ContactID == "" {
				return []cached{}, nil
			}
			cases, err := store.PrivacyRecordsByContact(ctx, db, store.PrivacyRecordsByContactParams{TenantID: s.TenantID, Object: "case", ContactID: pgtype.Text{String: s.ContactID, Valid: true}})
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(cases))
			for i, c := range cases {
				ids[i] = c.SourceID
			}
			rows, err := store.PrivacyRecordsByParent(ctx, db, store.PrivacyRecordsByParentParams{TenantID: s.TenantID, Object: "case_comment", ParentIds: ids})
			same := make([]store.PrivacyRecordsByContactRow, len(rows))
			for i, r := range rows {
				same[i] = store.PrivacyRecordsByContactRow(r)
			}
			return cachedOf(same), err
		},
	}
}

// cacheMentionsPart pseudonymises the person's address, phone and name
// wherever the cache holds them outside the contact (a case's supplied
// email, a comment's author): copies the cache keeps of source records.
func cacheMentionsPart() Part {
	return Part{
		Name: "cache_mentions", Holds: "the person's address, phone and name inside other cached source records",
		Purpose: "showing source records as the source has them", Basis: "contract (Art. 6(1)(b))",
		Until: "the source changes or deletes the record",
		Erase: scrubCache,
	}
}

func actionsPart() Part {
	type action struct {
		ID         int64           `json:"id"`
		Kind       string          `json:"kind"`
		Connection string          `json:"connection"`
		Object     string          `json:"object"`
		Op         string          `json:"op"`
		Target     string          `json:"target"`
		Input      json.RawMessage `json:"input"`
		State      string          `json:"state"`
		Message    *string         `json:"message"`
		ResultID   *string         `json:"result_id"`
		CreatedAt  *time.Time      `json:"created_at"`
		AppliedAt  *time.Time      `json:"applied_at"`
	}
	return Part{
		Name: "actions", Holds: "what the person asked Portico to write to the sources, with their input (action)",
		Purpose: "writing the person's changes back once and showing their state", Basis: "contract (Art. 6(1)(b))",
		Retention: KindActions,
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.UserID == 0 {
				return []action{}, nil
			}
			rows, err := store.PrivacyActionsByUser(ctx, db, store.PrivacyActionsByUserParams{TenantID: s.TenantID, UserID: strconv.FormatInt(s.UserID, 10)})
			out := make([]action, len(rows))
			for i, r := range rows {
				out[i] = action{ID: r.ID, Kind: r.Kind, Connection: r.Connection, Object: r.Object, Op: r.Op, Target: r.Target,
					Input: r.Input, State: r.State, Message: optText(r.Message), ResultID: optText(r.ResultID),
					CreatedAt: optTime(r.CreatedAt), AppliedAt: optTime(r.AppliedAt)}
			}
			return out, err
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return store.PrivacyActionsErase(ctx, db, store.PrivacyActionsEraseParams{TenantID: s.TenantID, UserID: strconv.FormatInt(s.UserID, 10), Pseudonym: e.Pseudonym})
		},
		Purge: func(ctx context.Context, db store.DBTX, before time.Time) (int64, error) {
			return store.PrivacyPurgeActions(ctx, db, ts(before))
		},
	}
}

func consentsPart() Part {
	return Part{
		Name: "consents", Holds: "the person's choice of notifications (notification_preference)",
		Purpose: "sending only the notices the person wants", Basis: "consent (Art. 6(1)(a))",
		Until: "the user is erased",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.UserID == 0 {
				return nil, nil
			}
			p, err := store.NotificationPreferenceGet(ctx, db, store.NotificationPreferenceGetParams{TenantID: s.TenantID, UserID: s.UserID})
			if err != nil {
				return nil, ignoreNotFound(err)
			}
			return map[string]any{"email": p.Email, "case_updates": p.CaseUpdates, "order_updates": p.OrderUpdates,
				"invoice_issued": p.InvoiceIssued, "approvals": p.Approvals, "updated_at": optTime(p.UpdatedAt)}, nil
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return store.PrivacyConsentsErase(ctx, db, s.UserID)
		},
	}
}

func sessionsPart() Part {
	type session struct {
		ID        int64      `json:"id"`
		Method    string     `json:"method"`
		IP        string     `json:"ip"`
		UserAgent string     `json:"user_agent"`
		CreatedAt *time.Time `json:"created_at"`
	}
	return Part{
		Name: "sessions", Holds: "sign-ins: method, client address and browser (auth_session, auth_web_session)",
		Purpose: "keeping the person signed in and letting them see and end their sessions", Basis: "contract (Art. 6(1)(b)); security (Art. 6(1)(f))",
		Retention: KindSessions,
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.UserID == 0 {
				return []session{}, nil
			}
			rows, err := store.PrivacySessionsByUser(ctx, db, s.UserID)
			out := make([]session, len(rows))
			for i, r := range rows {
				out[i] = session{ID: r.ID, Method: r.Method, IP: r.Ip, UserAgent: r.UserAgent, CreatedAt: optTime(r.CreatedAt)}
			}
			return out, err
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			if err := store.AuthWebSessionsDeleteForUser(ctx, db, s.UserID); err != nil {
				return 0, err
			}
			return store.AuthSessionsDeleteForUser(ctx, db, s.UserID)
		},
		Purge: func(ctx context.Context, db store.DBTX, before time.Time) (int64, error) {
			n, err := store.PrivacyPurgeWebSessions(ctx, db, ts(before))
			if err != nil {
				return 0, err
			}
			m, err := store.PrivacyPurgeSessions(ctx, db, ts(before))
			return n + m, err
		},
	}
}

func tokensPart() Part {
	type token struct {
		ID         int64      `json:"id"`
		Name       string     `json:"name"`
		Scopes     []string   `json:"scopes"`
		ExpiresAt  *time.Time `json:"expires_at"`
		RevokedAt  *time.Time `json:"revoked_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
		CreatedAt  *time.Time `json:"created_at"`
	}
	return Part{
		Name: "tokens", Holds: "the person's API tokens (names and scopes; only hashes of the secrets) and one-time link tokens",
		Purpose: "access for the person's own scripts; invitations and password resets", Basis: "contract (Art. 6(1)(b))",
		Until: "the token expires or is revoked, or the user is erased",
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			if s.UserID == 0 {
				return []token{}, nil
			}
			rows, err := store.PrivacyAPITokensByUser(ctx, db, s.UserID)
			out := make([]token, len(rows))
			for i, r := range rows {
				out[i] = token{ID: r.ID, Name: r.Name, Scopes: r.Scopes, ExpiresAt: optTime(r.ExpiresAt), RevokedAt: optTime(r.RevokedAt),
					LastUsedAt: optTime(r.LastUsedAt), CreatedAt: optTime(r.CreatedAt)}
			}
			return out, err
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			n, err := store.PrivacyUserTokensErase(ctx, db, s.UserID)
			if err != nil {
				return 0, err
			}
			m, err := store.PrivacyAPITokensErase(ctx, db, s.UserID)
			return n + m, err
		},
	}
}

func loginFailuresPart() Part {
	return Part{
		Name: "login_failures", Holds: "failed sign-ins and reset requests by address (auth_login_failure)",
		Purpose: "throttling password guessing", Basis: "security (Art. 6(1)(f))",
		Until: "the throttle window (auth.throttle.window) passes",
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			return store.PrivacyLoginFailuresErase(ctx, db, store.PrivacyLoginFailuresEraseParams{TenantID: s.TenantID, Email: s.Email})
		},
	}
}

func mailLogPart() Part {
	return Part{
		Name: "mail_log", Holds: "mail jobs naming the person (river_job, queue notify: address, SMTP errors)",
		Purpose: "sending invitations, password resets and notices once", Basis: "contract (Art. 6(1)(b))",
		Retention: KindNotifications,
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			return store.PrivacyMailJobsErase(ctx, db, s.Email, s.UserID)
		},
		Purge: store.PrivacyPurgeMailJobs,
	}
}

func filesPart(fs *files.Service) Part {
	type file struct {
		ID          int64      `json:"id"`
		Name        string     `json:"name"`
		ContentType string     `json:"content_type"`
		Size        int64      `json:"size"`
		Object      string     `json:"object"`
		RecordID    string     `json:"record_id"`
		State       string     `json:"state"`
		CreatedAt   time.Time  `json:"created_at"`
		SyncedAt    *time.Time `json:"synced_at"`
		// InArchive is the file's path in this archive; empty when its
		// content is not served (quarantined).
		InArchive string `json:"in_archive"`
	}
	return Part{
		Name: "files", Holds: "files the person uploaded, with their content (file, file_chunk)",
		Purpose: "sending the person's uploads to the source", Basis: "contract (Art. 6(1)(b))",
		Retention: KindFiles,
		Export: func(ctx context.Context, db store.DBTX, s Subject, a *Archive) (any, error) {
			if s.UserID == 0 {
				return []file{}, nil
			}
			rows, err := store.PrivacyFilesByUploader(ctx, db, store.PrivacyFilesByUploaderParams{TenantID: s.TenantID, UserID: strconv.FormatInt(s.UserID, 10)})
			if err != nil {
				return nil, err
			}
			out := make([]file, len(rows))
			for i, r := range rows {
				f, err := fs.Get(ctx, store.Scope{TenantID: r.TenantID, Staff: true}, r.ID) // the export job, as the owner: the subject's own uploads
				if err != nil {
					return nil, err
				}
				out[i] = file{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, Object: f.Object, RecordID: f.RecordID,
					State: f.State, CreatedAt: f.CreatedAt, SyncedAt: f.SyncedAt}
				if !f.Servable() {
					continue
				}
				body, err := fs.Open(ctx, *f)
				if err != nil {
					return nil, err
				}
				out[i].InArchive = "files/" + strconv.FormatInt(f.ID, 10) + "-" + safeName(f.Name)
				err = a.Add(out[i].InArchive, body)
				if c, ok := body.(io.Closer); ok {
					_ = c.Close() // stops a read-ahead an error left
				}
				if err != nil {
					return nil, err
				}
			}
			return out, nil
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return store.PrivacyFilesErase(ctx, db, store.PrivacyFilesEraseParams{TenantID: s.TenantID, UserID: strconv.FormatInt(s.UserID, 10)})
		},
		Purge: func(ctx context.Context, db store.DBTX, before time.Time) (int64, error) {
			return store.PrivacyPurgeFiles(ctx, db, ts(before))
		},
	}
}

// safeName keeps an uploaded name usable as a path inside the zip.
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == ".." {
		return "file"
	}
	return name
}

func exportsPart() Part {
	return Part{
		Name: "exports", Holds: "data exports waiting for their one download (privacy_export)",
		Purpose: "answering the person's access request (Art. 15, 20)", Basis: "legal obligation (Art. 6(1)(c))",
		Until: "downloaded, or privacy.export_ttl passes",
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return store.PrivacyExportsErase(ctx, db, store.PrivacyExportsEraseParams{TenantID: s.TenantID, UserID: s.UserID})
		},
		Purge: func(ctx context.Context, db store.DBTX, _ time.Time) (int64, error) {
			return store.PrivacyPurgeExports(ctx, db)
		},
	}
}

func auditPart() Part {
	type event struct {
		ID         int64           `json:"id"`
		Seq        *int64          `json:"seq"`
		OccurredAt time.Time       `json:"occurred_at"`
		Actor      string          `json:"actor"`
		ActorKind  string          `json:"actor_kind"`
		AccountID  *string         `json:"account_id"`
		IP         *netip.Addr     `json:"ip"`
		UserAgent  *string         `json:"user_agent"`
		Action     string          `json:"action"`
		Object     *string         `json:"object"`
		ObjectID   *string         `json:"object_id"`
		Before     json.RawMessage `json:"before"`
		After      json.RawMessage `json:"after"`
	}
	return Part{
		Name: "audit_events", Holds: "audit events about the person: what they did and what was done to their user; personal fields sealed under their key (audit_event)",
		Purpose: "evidence of every change (DESIGN.md invariant 7)", Basis: "legal obligation and legitimate interest (Art. 6(1)(c), (f))",
		Retention: KindAudit,
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			rows, err := store.AuditBySubject(ctx, db, store.AuditBySubjectParams{TenantID: s.TenantID, Subjects: s.AuditSubjects(), UserID: strconv.FormatInt(s.UserID, 10)})
			if err != nil {
				return nil, err
			}
			o := audit.NewOpener(db, s.TenantID)
			out := make([]event, len(rows))
			for i, r := range rows {
				ev := event{ID: r.ID, OccurredAt: r.OccurredAt.Time, Actor: r.Actor, ActorKind: r.ActorKind, AccountID: optText(r.AccountID),
					IP: r.Ip, Action: r.Action, Object: optText(r.Object), ObjectID: optText(r.ObjectID)}
				if r.Seq.Valid {
					ev.Seq = &r.Seq.Int64
				}
				if ev.Before, err = o.JSON(ctx, "before", r.Before); err != nil {
					return nil, err
				}
				if ev.After, err = o.JSON(ctx, "after", r.After); err != nil {
					return nil, err
				}
				if r.UserAgent.Valid {
					ua, err := o.UserAgent(ctx, r.UserAgent.String)
					if err != nil {
						return nil, err
					}
					ev.UserAgent = &ua
				}
				out[i] = ev
			}
			return out, nil
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error) {
			n, err := audit.ShredSubjects(ctx, db, s.TenantID, s.AuditSubjects()...)
			if err != nil {
				return 0, err
			}
			legacy, err := legacyAuditEvents(ctx, db, s)
			if err != nil {
				return 0, err
			}
			if legacy > 0 {
				e.note(fmt.Sprintf("%d audit event(s) about the person were written before per-subject sealing (migration 101) and stay in clear: rewriting them would break the hash chain", legacy))
			}
			return n, nil
		},
		Purge: func(ctx context.Context, db store.DBTX, before time.Time) (int64, error) {
			return store.PrivacyPurgeAuditKeys(ctx, db, ts(before))
		},
	}
}

// legacyAuditEvents counts the person's events with a before or after
// that is not sealed.
func legacyAuditEvents(ctx context.Context, db store.DBTX, s Subject) (int64, error) {
	if s.UserID == 0 {
		return 0, nil
	}
	rows, err := store.AuditBySubject(ctx, db, store.AuditBySubjectParams{TenantID: s.TenantID, Subjects: s.AuditSubjects(), UserID: strconv.FormatInt(s.UserID, 10)})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range rows {
		if inClear(r.Before) || inClear(r.After) {
			n++
		}
	}
	return n, nil
}

func inClear(v []byte) bool {
	return len(v) > 0 && !strings.Contains(string(v), `"sealed_v1"`)
}

func notificationsPart() Part {
	type notice struct {
		ID       int64      `json:"id"`
		Kind     string     `json:"kind"`
		Object   string     `json:"object"`
		RecordID string     `json:"record_id"`
		Title    string     `json:"title"`
		Body     string     `json:"body"`
		Link     string     `json:"link"`
		Email    string     `json:"email"`
		Created  *time.Time `json:"created_at"`
		Sent     *time.Time `json:"sent_at"`
		Read     *time.Time `json:"read_at"`
	}
	type settings struct {
		Notices     []notice                                  `json:"notices"`
		Preferences []store.PrivacyNotifyPreferencesByUserRow `json:"preferences"`
		QuietHours  []store.PrivacyNotifySettingByUserRow     `json:"quiet_hours"`
	}
	return Part{
		Name: "notifications", Holds: "notices told to the person, by email and in the inbox, their digests, preferences and quiet hours (notice, notice_digest, notify_preference, notify_setting)",
		Purpose: "telling the person what changed for them, as they chose", Basis: "contract (Art. 6(1)(b))",
		Retention: KindNotifications,
		Export: func(ctx context.Context, db store.DBTX, s Subject, _ *Archive) (any, error) {
			out := settings{Notices: []notice{}, Preferences: []store.PrivacyNotifyPreferencesByUserRow{}, QuietHours: []store.PrivacyNotifySettingByUserRow{}}
			if s.UserID == 0 {
				return out, nil
			}
			rows, err := store.PrivacyNoticesByUser(ctx, db, s.UserID)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				out.Notices = append(out.Notices, notice{ID: r.ID, Kind: r.Kind, Object: r.Object, RecordID: r.SourceID, Title: r.Title,
					Body: r.Body, Link: r.Link, Email: r.Email, Created: optTime(r.CreatedAt), Sent: optTime(r.SentAt), Read: optTime(r.ReadAt)})
			}
			prefs, err := store.PrivacyNotifyPreferencesByUser(ctx, db, s.UserID)
			if err != nil {
				return nil, err
			}
			quiet, err := store.PrivacyNotifySettingByUser(ctx, db, s.UserID)
			out.Preferences, out.QuietHours = append(out.Preferences, prefs...), append(out.QuietHours, quiet...)
			return out, err
		},
		Erase: func(ctx context.Context, db store.DBTX, s Subject, _ *Erasure) (int64, error) {
			if s.UserID == 0 {
				return 0, nil
			}
			return store.PrivacyNoticesErase(ctx, db, s.UserID)
		},
		Purge: func(ctx context.Context, db store.DBTX, before time.Time) (int64, error) {
			return store.PrivacyPurgeNotices(ctx, db, ts(before))
		},
	}
}
