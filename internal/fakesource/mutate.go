package fakesource

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stampResolution is how finely each system stamps changes; QuickBooks shows seconds only,
// so its stamps must not carry more than it can show or clients could not compare them.
func stampResolution(system string) time.Duration {
	if system == Accounting {
		return time.Second
	}
	return time.Millisecond
}

// nextStampLocked returns a modstamp for a change made now: never before the previous
// stamp of the record nor before any stamp this system issued before.
func (s *Sim) nextStampLocked(system string, prev time.Time) time.Time {
	t := s.now().UTC().Truncate(stampResolution(system))
	if last := s.lastStamp[system]; t.Before(last) {
		t = last
	}
	if t.Before(prev) {
		t = prev
	}
	s.lastStamp[system] = t
	return t
}

// change kinds for webhooks
const (
	opCreate = "create"
	opUpdate = "update"
	opDelete = "delete"
)

// updateLocked stores a changed copy of rec built by patch, advancing stamp and version.
func (s *Sim) updateLocked(o *objectState, rec *record, patch func(r *record)) *record {
	n := rec.clone()
	if patch != nil {
		patch(n)
	}
	n.stamp = s.nextStampLocked(o.def.system, rec.stamp)
	n.version++
	if isCatalog(o.def.system, o.def.name) {
		n.version = max(n.version, n.stamp.UnixMilli())
	}
	o.put(n)
	s.hooks.enqueueLocked(o, n, opUpdate)
	s.journalRecordLocked(o, n)
	return n
}

// createLocked stores a new record; a zero stamp means "now".
func (s *Sim) createLocked(o *objectState, fields map[string]any, stamp time.Time) *record {
	return s.createAtLocked(o, fields, stamp, time.Time{})
}

// createAtLocked is createLocked for a record whose creation date is created (zero: its
// stamp), as for records entered after the fact: the demo story's.
func (s *Sim) createAtLocked(o *objectState, fields map[string]any, stamp, created time.Time) *record {
	seq := o.newSeq()
	if stamp.IsZero() {
		stamp = s.nextStampLocked(o.def.system, time.Time{})
	} else {
		stamp = stamp.UTC().Truncate(stampResolution(o.def.system))
	}
	if created.IsZero() {
		created = stamp
	}
	r := &record{seq: seq, id: o.def.idOf(seq), created: created.UTC().Truncate(stampResolution(o.def.system)), stamp: stamp, fields: fields}
	switch {
	case o.def.system == Inventory && o.def.name == "Order":
		r.version = 1
	case isCatalog(o.def.system, o.def.name):
		r.version = stamp.UnixMilli()
	}
	o.put(r)
	s.hooks.enqueueLocked(o, r, opCreate)
	s.journalRecordLocked(o, r)
	if o.def.system == Accounting {
		s.qbAfterCreateLocked(o, r)
	}
	return r
}

func (s *Sim) deleteLocked(o *objectState, rec *record) *record {
	n := rec.clone()
	n.deleted = true
	n.stamp = s.nextStampLocked(o.def.system, rec.stamp)
	n.deletedAt = n.stamp
	n.version++
	o.put(n)
	s.hooks.enqueueLocked(o, n, opDelete)
	s.journalRecordLocked(o, n)
	return n
}

// concurrentEditLocked simulates someone else editing rec just before a write (the
// stale_next_write fault).
func (s *Sim) concurrentEditLocked(o *objectState, rec *record) *record {
	return s.updateLocked(o, rec, nil)
}

// visible reports whether a record with this stamp is visible to query endpoints now.
func (s *Sim) visible(stamp time.Time) bool {
	return !stamp.Add(s.opts.VisibilityLag).After(s.now())
}

// idemEntry is the first response to an idempotency key.
type idemEntry struct {
	status int
	body   []byte
	header http.Header
}

// idemLookupLocked counts one presentation of key and returns the stored first answer.
func (s *Sim) idemLookupLocked(system, scope, key string) (idemEntry, bool) {
	s.stats.writes[[2]string{system, key}]++
	e, ok := s.idem[system+"|"+scope+"|"+key]
	return e, ok
}

func (s *Sim) idemStoreLocked(system, scope, key string, e idemEntry) {
	k := system + "|" + scope + "|" + key
	s.idem[k] = e
	if s.journal != nil {
		s.journalLocked(journalEntry{Idem: &journalIdem{Key: k, Status: e.status, Body: e.body, Header: e.header}})
	}
}

// countWriteLocked counts a keyed write that has no stored answer (Salesforce upserts).
func (s *Sim) countWriteLocked(system, key string) {
	s.stats.writes[[2]string{system, key}]++
}

func (s *Sim) lookupObject(system, object string) (*objectState, error) {
	if !validSystem(system) {
		return nil, fmt.Errorf("%w: unknown system %q", ErrNotFound, system)
	}
	o := s.store.object(system, object)
	if o == nil {
		return nil, fmt.Errorf("%w: unknown object %s/%s", ErrNotFound, system, object)
	}
	return o, nil
}

// staffEdit, staffCreate and staffDelete back the exported helpers and /_sim/ endpoints.
func (s *Sim) staffEdit(system, object, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return err
	}
	rec := o.get(id)
	if rec == nil || rec.deleted {
		return fmt.Errorf("%w: %s/%s/%s", ErrNotFound, system, object, id)
	}
	if err := s.validateFields(o, fields, false); err != nil {
		return err
	}
	if system == Salesforce {
		s.sfUpdateLocked(o, rec, fields) // keeps IsClosed/ClosedDate, Name and the external-id index right
		return nil
	}
	s.updateLocked(o, rec, func(r *record) {
		mergeFields(r.fields, fields)
		if system == Inventory && o.def.name == "Order" {
			sqOrderTotals(r.fields)
		}
	})
	return nil
}

func (s *Sim) staffCreate(system, object string, fields map[string]any, c createConfig) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return "", err
	}
	if err := s.validateFields(o, fields, true); err != nil {
		return "", err
	}
	r := s.createLocked(o, s.completeFields(o, deepCopyMap(fields)), c.modstamp)
	if system == Salesforce {
		s.sfIndexLocked(o, r)
	}
	return r.id, nil
}

func (s *Sim) staffDelete(system, object, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return err
	}
	rec := o.get(id)
	if rec == nil || rec.deleted {
		return fmt.Errorf("%w: %s/%s/%s", ErrNotFound, system, object, id)
	}
	s.deleteLocked(o, rec)
	return nil
}

func (s *Sim) recordView(system, object, id string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return nil, err
	}
	rec := o.get(id)
	if rec == nil {
		return nil, fmt.Errorf("%w: %s/%s/%s", ErrNotFound, system, object, id)
	}
	return s.renderLocked(o, rec), nil
}

func (s *Sim) seedID(system, object string, i int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return "", err
	}
	if i < 0 || i >= o.def.seedN {
		return "", fmt.Errorf("%w: %s/%s has %d seed records", ErrNotFound, system, object, o.def.seedN)
	}
	return o.def.idOf(int64(i)), nil
}

// renderLocked renders a record the way the vendor's GET-by-id would.
func (s *Sim) renderLocked(o *objectState, r *record) map[string]any {
	switch o.def.system {
	case Salesforce:
		return s.sfRender(o, r, "v59.0").toMap()
	case Accounting:
		return qbRender(o, r)
	default:
		return s.sqRenderLocked(o, r)
	}
}

// validateFields checks staff-supplied fields: Salesforce field names must exist; the
// other systems accept any JSON object but not the system-managed keys.
func (s *Sim) validateFields(o *objectState, fields map[string]any, create bool) error {
	switch o.def.system {
	case Salesforce:
		if code, msg, f := s.sf.validate(o, fields, create); code != "" {
			return fmt.Errorf("%w: %s: %s (%s)", ErrInvalid, code, msg, strings.Join(f, ","))
		}
	default:
		for _, k := range []string{"Id", "SyncToken", "MetaData", "id", "version", "created_at", "updated_at"} {
			if _, ok := fields[k]; ok {
				return fmt.Errorf("%w: field %q is managed by the system", ErrInvalid, k)
			}
		}
		if create {
			for _, k := range o.def.required {
				if _, ok := fields[k]; !ok {
					return fmt.Errorf("%w: required field %q missing", ErrInvalid, k)
				}
			}
		}
	}
	return nil
}

// completeFields fills defaults a real system would add on create.
func (s *Sim) completeFields(o *objectState, f map[string]any) map[string]any {
	switch {
	case o.def.system == Salesforce:
		return s.sf.complete(o, f)
	case o.def.system == Accounting:
		s.qbDefaults(o, f)
	case o.def.name == "Order":
		if f["state"] == nil {
			f["state"] = "OPEN"
		}
		sqOrderTotals(f)
	}
	return f
}

// mergeFields applies a sparse update: top-level keys replace, nil removes nothing but sets null.
func mergeFields(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = deepCopy(v)
	}
}
