package privacy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// ErrNoExport means the link is unknown, used, expired, not ready yet, or
// someone else's: one answer for all, so a link cannot be probed.
var ErrNoExport = errors.New("privacy: no such export to download")

// Manifest is manifest.json in every export.
type Manifest struct {
	Email       string    `json:"email"`
	UserID      int64     `json:"user_id,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	// Parts names each JSON file and what it holds.
	Parts map[string]string `json:"parts"`
	Files []string          `json:"files"`
}

// Build writes the person's export: manifest.json, one JSON file per
// part, and their files under files/. It reads from one snapshot.
func (s *Service) Build(ctx context.Context, subj Subject) ([]byte, error) {
	tx, err := s.o.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("privacy: export: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	now := time.Now().UTC()
	a := newArchive(now)
	m := Manifest{Email: subj.Email, UserID: subj.UserID, GeneratedAt: now, Parts: map[string]string{}}
	for _, p := range s.o.Registry.Parts() {
		if p.Export == nil {
			continue
		}
		v, err := p.Export(ctx, tx, subj, a)
		if err != nil {
			return nil, fmt.Errorf("privacy: exporting %s: %w", p.Name, err)
		}
		name := p.Name + ".json"
		if err := a.JSON(name, v); err != nil {
			return nil, err
		}
		m.Parts[name] = p.Holds
	}
	m.Files = append([]string(nil), a.names...)
	if err := a.JSON("manifest.json", m); err != nil {
		return nil, err
	}
	return a.Close()
}

// BuildFor builds the export of the person with this email now (the
// CLI's `privacy export --out`), auditing it.
func (s *Service) BuildFor(ctx context.Context, email string, by audit.Actor) ([]byte, error) {
	subj, err := FindSubject(ctx, s.o.Pool, s.o.TenantID, email)
	if err != nil {
		return nil, err
	}
	zip, err := s.Build(ctx, subj)
	if err != nil {
		return nil, err
	}
	return zip, audit.Record(ctx, s.o.Pool, audit.Event{TenantID: s.o.TenantID, Actor: by, Action: "privacy.export",
		Object: "user", ObjectID: strconv.FormatInt(subj.UserID, 10), Subject: subj.AuditSubject(),
		After: map[string]any{"email": subj.Email, "bytes": len(zip), "delivered": "cli"}})
}

// Requested is an export on its way: the one-time token of its link,
// and when the link stops working.
type Requested struct {
	ID        int64
	Token     string
	ExpiresAt time.Time
}

func hashToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// RequestExport queues the user's export, committed with its job and its
// audit event, and returns the link's token (only its hash is stored).
func (s *Service) RequestExport(ctx context.Context, userID int64, by audit.Actor) (Requested, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Requested{}, err
	}
	req := Requested{Token: base64.RawURLEncoding.EncodeToString(raw), ExpiresAt: time.Now().Add(s.o.Config.ExportTTL)}
	err := pgx.BeginFunc(ctx, s.o.Pool, func(tx pgx.Tx) error {
		id, err := store.PrivacyExportInsert(ctx, tx, store.PrivacyExportInsertParams{TenantID: s.o.TenantID, UserID: userID,
			RequestedBy: by.String(), TokenHash: hashToken(req.Token), ExpiresAt: ts(req.ExpiresAt)})
		if err != nil {
			return fmt.Errorf("privacy: requesting an export: %w", err)
		}
		req.ID = id
		if _, err := s.o.Insert(ctx, tx, ExportArgs{ExportID: id}, nil); err != nil {
			return fmt.Errorf("privacy: queueing the export: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: s.o.TenantID, Actor: by, Action: "privacy.export_request",
			Object: "user", ObjectID: strconv.FormatInt(userID, 10), After: map[string]any{"export_id": id, "expires_at": req.ExpiresAt}})
	})
	return req, err
}

// ExportStatus is one of a user's recent exports.
type ExportStatus struct {
	ID        int64
	State     string // pending, ready, downloaded, failed
	Size      int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Exports lists the user's recent exports, newest first; one whose link
// expired is shown as expired.
func (s *Service) Exports(ctx context.Context, userID int64) ([]ExportStatus, error) {
	rows, err := store.PrivacyExportsByUser(ctx, s.o.Pool, store.PrivacyExportsByUserParams{TenantID: s.o.TenantID, UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("privacy: listing exports: %w", err)
	}
	out := make([]ExportStatus, len(rows))
	for i, r := range rows {
		out[i] = ExportStatus{ID: r.ID, State: r.State, Size: r.Size, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time}
		if r.State != "downloaded" && r.ExpiresAt.Time.Before(time.Now()) {
			out[i].State = "expired"
		}
	}
	return out, nil
}

// Take hands out the user's export for its token, once: the archive is
// dropped as it is taken.
func (s *Service) Take(ctx context.Context, userID int64, token string, by audit.Event) ([]byte, error) {
	var zip []byte
	err := pgx.BeginFunc(ctx, s.o.Pool, func(tx pgx.Tx) error {
		row, err := store.PrivacyExportTake(ctx, tx, store.PrivacyExportTakeParams{TenantID: s.o.TenantID, UserID: userID, TokenHash: hashToken(token)})
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoExport
		}
		if err != nil {
			return fmt.Errorf("privacy: taking the export: %w", err)
		}
		zip = row.Zip
		by.TenantID, by.Action, by.Object, by.ObjectID = s.o.TenantID, "privacy.export_download", "user", strconv.FormatInt(userID, 10)
		by.After = map[string]any{"export_id": row.ID, "bytes": len(row.Zip)}
		return audit.Record(ctx, tx, by)
	})
	return zip, err
}

// ExportArgs builds one requested export.
type ExportArgs struct {
	ExportID int64 `json:"export_id"`
}

// Kind implements river.JobArgs.
func (ExportArgs) Kind() string { return "privacy_export" }

// InsertOpts: the default queue; a few attempts, well within the link's
// life.
func (ExportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDefault, MaxAttempts: 5}
}

// ExportWorker builds exports in the background.
type ExportWorker struct {
	river.WorkerDefaults[ExportArgs]
	Service *Service
}

// Work implements river.Worker. An export already built, or gone, is
// done; the last failed attempt marks it failed so the user sees it.
func (w *ExportWorker) Work(ctx context.Context, job *river.Job[ExportArgs]) error {
	err := w.Service.buildExport(ctx, job.Args.ExportID)
	if err != nil && job.Attempt >= job.MaxAttempts {
		_ = store.PrivacyExportFailed(ctx, w.Service.o.Pool, store.PrivacyExportFailedParams{ID: job.Args.ExportID, Error: pgtype.Text{String: err.Error(), Valid: true}})
	}
	return err
}

func (s *Service) buildExport(ctx context.Context, id int64) error {
	row, err := store.PrivacyExportGet(ctx, s.o.Pool, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if row.State != "pending" {
		return nil
	}
	u, err := store.AuthUserByID(ctx, s.o.Pool, row.UserID)
	if err != nil {
		return err
	}
	subj, err := FindSubject(ctx, s.o.Pool, row.TenantID, u.Email)
	if err != nil {
		return err
	}
	zip, err := s.Build(ctx, subj)
	if err != nil {
		return err
	}
	return store.PrivacyExportReady(ctx, s.o.Pool, store.PrivacyExportReadyParams{ID: id, Zip: bytes.Clone(zip)})
}

// Peek says whether the user's export behind token is ready to take,
// still being built, or not to be had (ErrNoExport: unknown, someone
// else's, taken, failed or expired), without taking it.
func (s *Service) Peek(ctx context.Context, userID int64, token string) (ready bool, err error) {
	row, err := store.PrivacyExportPeek(ctx, s.o.Pool, store.PrivacyExportPeekParams{TenantID: s.o.TenantID, UserID: userID, TokenHash: hashToken(token)})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, ErrNoExport
	case err != nil:
		return false, fmt.Errorf("privacy: export: %w", err)
	case row.ExpiresAt.Time.Before(time.Now()), row.State != "pending" && row.State != "ready":
		return false, ErrNoExport
	}
	return row.State == "ready", nil
}
