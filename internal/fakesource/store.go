package fakesource

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// record is one object instance in vendor-neutral form. fields holds the vendor-shaped body
// without the system fields (id, stamps, version, deleted) which each renderer adds.
type record struct {
	seq       int64
	id        string
	created   time.Time
	stamp     time.Time
	deleted   bool
	deletedAt time.Time
	version   int64
	fields    map[string]any
}

func (r *record) clone() *record {
	c := *r
	c.fields = deepCopyMap(r.fields)
	return &c
}

// objectDef describes one object of one system and how its seed records are generated.
// Seed records are never stored: record i is regenerated from (seed, i) on demand, so any
// volume costs no memory until a record is edited. stampOf must be non-decreasing in i.
type objectDef struct {
	system   string
	name     string
	seedN    int
	gen      func(i int) *record
	stampOf  func(i int) time.Time
	idOf     func(seq int64) string
	seqOf    func(id string) (int64, bool)
	required []string // fields a create must carry
	// fill adds values to a seeded record's fields (custom fields in use).
	fill func(r *rnd, stamp time.Time, fields map[string]any)
}

// objectState is the live state of one object: the seed plus an overlay of changed records.
type objectState struct {
	def     *objectDef
	overlay map[int64]*record
	nextSeq int64
	live    int
	sorted  []*record // overlay ordered by (stamp, seq); nil when stale
	gen     uint64    // bumped on every change, to invalidate cached query positions
}

// store holds every object of every system.
type store struct {
	objects map[string]*objectState // key system + "/" + lower(name)
	world   *world
}

func objKey(system, name string) string { return system + "/" + strings.ToLower(name) }

func newStore(seed int64, records int) *store {
	w := newWorld(seed, records)
	st := &store{objects: map[string]*objectState{}, world: w}
	for _, d := range w.defs() {
		st.objects[objKey(d.system, d.name)] = &objectState{
			def: d, overlay: map[int64]*record{}, nextSeq: int64(d.seedN), live: d.seedN,
		}
	}
	return st
}

// fillCustom gives the seeded records of each Salesforce object values in
// its custom fields, of their types in sch.
func (st *store) fillCustom(sch sfSchema, custom map[string][]string) {
	for obj, fields := range custom {
		o := st.object(Salesforce, obj)
		if o == nil || len(fields) == 0 {
			continue
		}
		types := make([]string, len(fields))
		for i, f := range fields {
			types[i] = sch.fieldType(obj, f)
		}
		o.def.fill = func(r *rnd, stamp time.Time, out map[string]any) {
			for i, f := range fields {
				out[f] = customValue(r, types[i], stamp)
			}
		}
	}
}

func (st *store) object(system, name string) *objectState {
	return st.objects[objKey(system, name)]
}

// get returns the current record (materialized; callers must not mutate it) or nil.
func (o *objectState) get(id string) *record {
	seq, ok := o.def.seqOf(id)
	if !ok {
		return nil
	}
	if r, ok := o.overlay[seq]; ok {
		return r
	}
	if seq < 0 || seq >= int64(o.def.seedN) {
		return nil
	}
	return o.def.gen(int(seq))
}

// put stores r as the current state of its record.
func (o *objectState) put(r *record) {
	prev, had := o.overlay[r.seq]
	wasLive := r.seq < int64(o.def.seedN)
	if had {
		wasLive = !prev.deleted
	}
	if r.seq >= o.nextSeq {
		o.nextSeq = r.seq + 1
	}
	o.overlay[r.seq] = r
	o.gen++
	switch {
	case wasLive && r.deleted:
		o.live--
	case !wasLive && !r.deleted:
		o.live++
	}
	o.sorted = nil
}

func (o *objectState) newSeq() int64 {
	s := o.nextSeq
	o.nextSeq++
	return s
}

// cand is a record position in (stamp, seq) order; rec is nil for an untouched seed record.
type cand struct {
	seq   int64
	stamp time.Time
	rec   *record
}

func (o *objectState) materialize(c cand) *record {
	if c.rec != nil {
		return c.rec
	}
	return o.def.gen(int(c.seq))
}

func keyLess(s1 time.Time, q1 int64, s2 time.Time, q2 int64) bool {
	if !s1.Equal(s2) {
		return s1.Before(s2)
	}
	return q1 < q2
}

func (o *objectState) sortedOverlay() []*record {
	if o.sorted == nil {
		o.sorted = slices.Collect(maps.Values(o.overlay))
		slices.SortFunc(o.sorted, func(a, b *record) int {
			if keyLess(a.stamp, a.seq, b.stamp, b.seq) {
				return -1
			}
			if keyLess(b.stamp, b.seq, a.stamp, a.seq) {
				return 1
			}
			return 0
		})
	}
	return o.sorted
}

// iterate yields every record (deleted ones included) whose (stamp, seq) >= (from, fromSeq),
// in (stamp, seq) order, until fn returns false.
func (o *objectState) iterate(from time.Time, fromSeq int64, fn func(c cand) bool) {
	d := o.def
	i := sort.Search(d.seedN, func(i int) bool { return !keyLess(d.stampOf(i), int64(i), from, fromSeq) })
	ov := o.sortedOverlay()
	j := sort.Search(len(ov), func(j int) bool { return !keyLess(ov[j].stamp, ov[j].seq, from, fromSeq) })
	for {
		// skip seed records that live in the overlay now
		for i < d.seedN {
			if _, ok := o.overlay[int64(i)]; !ok {
				break
			}
			i++
		}
		haveSeed, haveOv := i < d.seedN, j < len(ov)
		if !haveSeed && !haveOv {
			return
		}
		var c cand
		if haveSeed {
			c = cand{seq: int64(i), stamp: d.stampOf(i)}
		}
		if haveOv && (!haveSeed || keyLess(ov[j].stamp, ov[j].seq, c.stamp, c.seq)) {
			c = cand{seq: ov[j].seq, stamp: ov[j].stamp, rec: ov[j]}
			j++
		} else {
			i++
		}
		if !fn(c) {
			return
		}
	}
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
