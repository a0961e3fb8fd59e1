package privacy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/store"
)

// ErrInvalid is a request refused before anything changed; Field names
// what was wrong.
type ErrInvalid struct {
	Field, Message string
}

func (e *ErrInvalid) Error() string { return "privacy: " + e.Field + ": " + e.Message }

// Erasure is one erasure in progress, handed to every part's Erase.
type Erasure struct {
	ID int64
	// Pseudonym stands in for the person wherever a value must remain.
	Pseudonym     string
	sourceRecords []SourceRecord
	notes         []string
}

// PseudonymEmail is the pseudonym as an address no mail can reach.
func (e *Erasure) PseudonymEmail() string { return e.Pseudonym + "@erased.invalid" }

func (e *Erasure) note(s string) { e.notes = append(e.notes, s) }

// SourceRecord is a record the source holds about the person.
type SourceRecord struct {
	Connection string `json:"connection"`
	Object     string `json:"object"`
	// SourceObject is the vendor's name for it (Contact).
	SourceObject string `json:"source_object"`
	SourceID     string `json:"source_id"`
	// State is requested (the connector asked the source to erase it) or
	// staff_task (staff must erase it at the source); Detail says why.
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

// Report is what an erasure did.
type Report struct {
	ErasureID int64            `json:"erasure_id"`
	Pseudonym string           `json:"pseudonym"`
	At        time.Time        `json:"at"`
	Parts     map[string]int64 `json:"parts"`
	Sources   []SourceRecord   `json:"sources"`
	Notes     []string         `json:"notes,omitempty"`
}

// States of a source record after an erasure.
const (
	SourceRequested = "requested"
	SourceStaffTask = "staff_task"
)

func newPseudonym() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "erased-" + hex.EncodeToString(b)
}

// Erase removes or pseudonymises the person with this email across every
// part, in one transaction, then asks the sources to erase their records
// of the person, or leaves staff a task for each, and reports which.
func (s *Service) Erase(ctx context.Context, email, reason string, by audit.Actor) (Report, error) {
	email, reason = strings.TrimSpace(email), strings.TrimSpace(reason)
	switch {
	case email == "" || !strings.Contains(email, "@"):
		return Report{}, &ErrInvalid{Field: "email", Message: "must be an email address"}
	case reason == "":
		return Report{}, &ErrInvalid{Field: "reason", Message: "is required: say why the person is erased (the request, its date)"}
	case len(reason) > 1000:
		return Report{}, &ErrInvalid{Field: "reason", Message: "must be at most 1000 characters"}
	}
	var rep Report
	var e Erasure
	err := pgx.BeginFunc(ctx, s.o.Pool, func(tx pgx.Tx) error {
		subj, err := FindSubject(ctx, tx, s.o.TenantID, email)
		if err != nil {
			return err
		}
		e = Erasure{Pseudonym: newPseudonym()}
		row, err := store.PrivacyErasureInsert(ctx, tx, store.PrivacyErasureInsertParams{TenantID: s.o.TenantID,
			UserID: pgtype.Int8{Int64: subj.UserID, Valid: subj.UserID > 0}, Pseudonym: e.Pseudonym, Reason: reason, RequestedBy: by.String()})
		if err != nil {
			return err
		}
		e.ID = row.ID
		rep = Report{ErasureID: row.ID, Pseudonym: e.Pseudonym, At: row.CreatedAt.Time, Parts: map[string]int64{}}
		for _, p := range s.o.Registry.Parts() {
			if p.Erase == nil {
				continue
			}
			n, err := p.Erase(ctx, tx, subj, &e)
			if err != nil {
				return fmt.Errorf("privacy: erasing %s: %w", p.Name, err)
			}
			rep.Parts[p.Name] = n
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	// The sources are asked after the commit: a slow or failing source
	// must not hold the erasure open, and a failed request becomes a task.
	for _, r := range e.sourceRecords {
		r.State, r.Detail = s.requestSource(ctx, r)
		if err := store.PrivacySourceRequestInsert(ctx, s.o.Pool, store.PrivacySourceRequestInsertParams{TenantID: s.o.TenantID,
			ErasureID: e.ID, Connection: r.Connection, Object: r.Object, SourceID: r.SourceID, State: r.State,
			Detail: pgtype.Text{String: r.Detail, Valid: r.Detail != ""}}); err != nil {
			return rep, fmt.Errorf("privacy: recording the source request: %w", err)
		}
		rep.Sources = append(rep.Sources, r)
	}
	rep.Notes = e.notes
	if err := s.recordErasure(ctx, rep, reason, by); err != nil {
		return rep, err
	}
	return rep, nil
}

// recordErasure keeps the report with the erasure and audits it: the
// pseudonym, never who the person was.
func (s *Service) recordErasure(ctx context.Context, rep Report, reason string, by audit.Actor) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.o.Pool, func(tx pgx.Tx) error {
		if err := store.PrivacyErasureReport(ctx, tx, store.PrivacyErasureReportParams{ID: rep.ErasureID, Report: b}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: s.o.TenantID, Actor: by, Action: "privacy.erase",
			Object: "privacy_erasure", ObjectID: fmt.Sprint(rep.ErasureID),
			After: map[string]any{"pseudonym": rep.Pseudonym, "reason": reason, "parts": rep.Parts, "sources": rep.Sources}})
	})
}

// requestSource asks the record's connector to erase it, where the
// connector can; otherwise staff get the task.
func (s *Service) requestSource(ctx context.Context, r SourceRecord) (state, detail string) {
	c, ok := s.o.Connectors[r.Connection]
	if !ok {
		return SourceStaffTask, "connection " + r.Connection + " is not configured"
	}
	er, ok := c.(connectors.ErasureRequester)
	if !ok {
		return SourceStaffTask, "the connector cannot send an erasure request: erase the record at the source"
	}
	ref, err := er.RequestErasure(ctx, r.SourceObject, r.SourceID)
	if err != nil {
		s.o.Logger.WarnContext(ctx, "privacy: erasure request to the source failed", slog.String("connection", r.Connection),
			slog.String("object", r.Object), slog.String("error", err.Error()))
		return SourceStaffTask, "the erasure request failed (" + err.Error() + "): erase the record at the source"
	}
	return SourceRequested, ref
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
