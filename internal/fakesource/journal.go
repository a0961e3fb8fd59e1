package fakesource

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// The journal keeps a simulator's world across restarts (Options.StateDir). Every change
// appends one JSON line with the changed record as it now is (not the request that changed
// it), so a replay needs no clock, no webhooks and none of the vendors' rules; tokens issued
// and idempotent answers are lines too. A line is one write(2) made before the API answers,
// so a kill -9 loses nothing an API client was told about; a torn last line (power loss)
// is dropped on replay. New replays the journal over the seed and rewrites it as a
// snapshot of what it replayed, so it grows with the changes of one run only.
const journalFile = "journal.jsonl"

const journalVersion = 1

type journalHeader struct {
	Journal    string `json:"journal"`
	Version    int    `json:"version"`
	Seed       int64  `json:"seed"`
	Records    int    `json:"records"`
	Generation uint64 `json:"generation"` // runs so far; reseeds the token generator
}

// journalEntry holds exactly one of its pointer fields.
type journalEntry struct {
	Rec     *journalRecord `json:"rec,omitempty"`
	Notify  int            `json:"notify,omitempty"` // webhook notifications sent so far (event ids)
	Idem    *journalIdem   `json:"idem,omitempty"`
	Access  *journalToken  `json:"access,omitempty"`
	Refresh *journalToken  `json:"refresh,omitempty"`
}

type journalRecord struct {
	System    string          `json:"system"`
	Object    string          `json:"object"`
	Seq       int64           `json:"seq"`
	Created   time.Time       `json:"created"`
	Stamp     time.Time       `json:"stamp"`
	Deleted   bool            `json:"deleted,omitempty"`
	DeletedAt time.Time       `json:"deleted_at,omitzero"`
	Version   int64           `json:"version"`
	Fields    json.RawMessage `json:"fields"`
}

type journalIdem struct {
	Key    string      `json:"key"`
	Status int         `json:"status"`
	Body   []byte      `json:"body"`
	Header http.Header `json:"header,omitempty"`
}

type journalToken struct {
	Token  string    `json:"token"`
	System string    `json:"system,omitempty"`
	Until  time.Time `json:"until,omitzero"` // access: expiry; refresh: end of a rotated token's grace
}

type journal struct {
	path   string
	f      *os.File
	log    *slog.Logger
	header journalHeader
	failed bool // a write failed; said once
}

// openJournalLocked replays dir's journal into s (which holds the seed state), rewrites it
// as a snapshot and keeps it open for appending. Callers own s exclusively.
func (s *Sim) openJournalLocked(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fakesource: state dir: %w", err)
	}
	j := &journal{path: filepath.Join(dir, journalFile), log: s.opts.Logger,
		header: journalHeader{Journal: "fakesource", Version: journalVersion, Seed: s.opts.Seed, Records: s.opts.Records}}
	gen, err := s.replayLocked(j)
	if err != nil {
		return err
	}
	j.header.Generation = gen + 1
	// Tokens issued after a restart must not repeat the earlier runs' tokens.
	s.rng = newLockedRand(int64(mix(uint64(s.opts.Seed) ^ j.header.Generation)))
	if err := s.snapshotLocked(j); err != nil {
		return err
	}
	s.journal = j
	return nil
}

// replayLocked applies the journal's entries and returns its generation. A journal of
// another seed or volume describes another world: it is set aside, not applied.
func (s *Sim) replayLocked(j *journal) (uint64, error) {
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("fakesource: journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var h journalHeader
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &h) != nil || h.Journal != "fakesource" ||
		h.Version != journalVersion || h.Seed != s.opts.Seed || h.Records != s.opts.Records {
		aside := j.path + ".old"
		j.log.Warn("fakesource: journal is for another world (seed, records or format); starting from the seed",
			slog.String("path", j.path), slog.String("moved_to", aside))
		return 0, os.Rename(j.path, aside)
	}
	line := 1
	for sc.Scan() {
		line++
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			j.log.Warn("fakesource: journal ends in a torn line; dropping it and what follows",
				slog.String("path", j.path), slog.Int("line", line))
			break
		}
		s.applyEntryLocked(e)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("fakesource: journal: %w", err)
	}
	return h.Generation, nil
}

func (s *Sim) applyEntryLocked(e journalEntry) {
	s.notifySeq = max(s.notifySeq, e.Notify)
	switch {
	case e.Rec != nil:
		jr := e.Rec
		o := s.store.object(jr.System, jr.Object)
		if o == nil {
			return
		}
		var fields map[string]any
		if json.Unmarshal(jr.Fields, &fields) != nil {
			return
		}
		r := &record{seq: jr.Seq, id: o.def.idOf(jr.Seq), created: jr.Created, stamp: jr.Stamp,
			deleted: jr.Deleted, deletedAt: jr.DeletedAt, version: jr.Version, fields: fields}
		o.put(r)
		if jr.System == Salesforce {
			s.sfIndexLocked(o, r)
		}
		if r.stamp.After(s.lastStamp[jr.System]) {
			s.lastStamp[jr.System] = r.stamp
		}
	case e.Idem != nil:
		s.idem[e.Idem.Key] = idemEntry{status: e.Idem.Status, body: e.Idem.Body, header: e.Idem.Header}
	case e.Access != nil:
		s.auth.access[e.Access.Token] = accessToken{system: e.Access.System, expires: e.Access.Until}
	case e.Refresh != nil:
		s.auth.qbRefresh[e.Refresh.Token] = refreshInfo{validUntil: e.Refresh.Until}
		if e.Refresh.Until.IsZero() {
			s.auth.qbCurrent = e.Refresh.Token
		}
	}
}

// snapshotLocked writes the header and the current state to a new file, then puts it in
// place of the journal and opens it for appending.
func (s *Sim) snapshotLocked(j *journal) error {
	var buf bytes.Buffer
	add := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
		return nil
	}
	if err := add(j.header); err != nil {
		return err
	}
	for _, d := range s.store.world.defs() {
		o := s.store.object(d.system, d.name)
		for _, r := range o.sortedOverlay() {
			if err := add(journalEntry{Rec: journalRec(o, r)}); err != nil {
				return err
			}
		}
	}
	if err := add(journalEntry{Notify: s.notifySeq}); err != nil {
		return err
	}
	for _, k := range sortedKeys(s.idem) {
		e := s.idem[k]
		if err := add(journalEntry{Idem: &journalIdem{Key: k, Status: e.status, Body: e.body, Header: e.header}}); err != nil {
			return err
		}
	}
	now := s.now()
	for _, k := range sortedKeys(s.auth.access) {
		if t := s.auth.access[k]; t.expires.IsZero() || now.Before(t.expires) {
			if err := add(journalEntry{Access: &journalToken{Token: k, System: t.system, Until: t.expires}}); err != nil {
				return err
			}
		}
	}
	// The current refresh token goes last: the last unrotated one replayed is current.
	refresh := sortedKeys(s.auth.qbRefresh)
	sort.SliceStable(refresh, func(a, b int) bool { return refresh[b] == s.auth.qbCurrent && refresh[a] != s.auth.qbCurrent })
	for _, k := range refresh {
		if r := s.auth.qbRefresh[k]; r.validUntil.IsZero() || now.Before(r.validUntil) {
			if err := add(journalEntry{Refresh: &journalToken{Token: k, Until: r.validUntil}}); err != nil {
				return err
			}
		}
	}
	tmp := j.path + ".tmp"
	if err := writeSynced(tmp, buf.Bytes()); err != nil {
		return fmt.Errorf("fakesource: journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("fakesource: journal: %w", err)
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fakesource: journal: %w", err)
	}
	if j.f != nil {
		_ = j.f.Close()
	}
	j.f = f
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func journalRec(o *objectState, r *record) *journalRecord {
	fields, err := appendJSON(nil, r.fields)
	if err != nil {
		fields = []byte("{}")
	}
	return &journalRecord{System: o.def.system, Object: o.def.name, Seq: r.seq, Created: r.created, Stamp: r.stamp,
		Deleted: r.deleted, DeletedAt: r.deletedAt, Version: r.version, Fields: fields}
}

// journalLocked writes one entry; without a journal it does nothing. A failed write is
// logged once: the simulator keeps serving, it only forgets on restart.
func (s *Sim) journalLocked(e journalEntry) {
	j := s.journal
	if j == nil || j.f == nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		_, err = j.f.Write(append(b, '\n'))
	}
	if err != nil && !j.failed {
		j.failed = true
		j.log.Error("fakesource: journal write failed; later changes will not survive a restart",
			slog.String("path", j.path), slog.String("error", err.Error()))
	}
}

// journalRecordLocked records a changed record and the webhook count that goes with it.
func (s *Sim) journalRecordLocked(o *objectState, r *record) {
	if s.journal != nil {
		s.journalLocked(journalEntry{Rec: journalRec(o, r), Notify: s.notifySeq})
	}
}

// journalResetLocked empties the journal after a reset to the seed.
func (s *Sim) journalResetLocked() {
	if j := s.journal; j != nil {
		if err := s.snapshotLocked(j); err != nil {
			j.log.Error("fakesource: journal reset failed", slog.String("path", j.path), slog.String("error", err.Error()))
		}
	}
}

// closeJournal closes the journal file.
func (s *Sim) closeJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.journal; j != nil && j.f != nil {
		_ = j.f.Close()
		j.f = nil
	}
}
