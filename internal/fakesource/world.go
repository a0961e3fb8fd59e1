package fakesource

import (
	"math"
	"strconv"
	"time"
)

// Seed data shape: every customer-facing record hangs off an account index a in [0,A).
// Child record i of an object with n records belongs to parent i*np/n, so links are pure
// index arithmetic and any record can be generated alone, in any order.
var (
	seedEpoch  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seedWindow = 330 * 24 * time.Hour
)

const (
	burstSize    = 37   // seed records per shared modstamp
	bigBurst     = 2500 // one burst larger than a Salesforce page in big objects
	bigBurstMinN = 5000
	numLocations = 3
)

// per-account weights of each object; "global" objects get at least one record.
var weights = []struct {
	system, name string
	w            float64
	global       bool
}{
	{Salesforce, "Account", 1, false},
	{Salesforce, "Contact", 2, false},
	{Salesforce, "Case", 2, false},
	{Salesforce, "CaseComment", 2, false},
	{Salesforce, "Knowledge__kav", 0.05, true},
	{Salesforce, "ContentVersion", 0.5, false},
	{Salesforce, "Quote", 0.5, false},
	{Salesforce, "QuoteLineItem", 1, false}, // = 2 per quote
	{Accounting, "Customer", 1, false},
	{Accounting, "Invoice", 2, false},
	{Accounting, "Payment", 1, false},
	{Accounting, "CreditMemo", 0.2, false},
	{Accounting, "Attachable", 0.2, false},
	{Inventory, "Customer", 1, false},
	{Inventory, "Order", 2, false},
	{Inventory, "Item", 0.05, true},
	{Inventory, "ItemVariation", 0.1, true},  // = 2 per item
	{Inventory, "InventoryCount", 0.3, true}, // = variations x locations
}

// world holds the seed parameters every generator derives from.
type world struct {
	seed     int64
	n        map[string]int // objKey -> seed count
	d        map[string]*objectDef
	accounts []acctInfo     // shared identities, precomputed: every system's generators need them
	byName   map[string]int // account index by (unique) name
}

func newWorld(seed int64, records int) *world {
	w := &world{seed: seed, n: map[string]int{}, d: map[string]*objectDef{}}
	w.n[objKey(Inventory, "Location")] = numLocations
	if records > 0 {
		var per float64
		for _, x := range weights {
			per += x.w
		}
		a := max(1, int(float64(records)/per))
		total := 0
		for _, x := range weights {
			c := int(math.Round(float64(a) * x.w))
			if x.global {
				c = max(c, 1)
			}
			w.n[objKey(x.system, x.name)] = c
		}
		items := w.n[objKey(Inventory, "Item")]
		w.n[objKey(Inventory, "ItemVariation")] = 2 * items
		w.n[objKey(Inventory, "InventoryCount")] = 2 * items * numLocations
		for _, x := range weights {
			total += w.n[objKey(x.system, x.name)]
		}
		// rounding leftovers (or excess) go to CaseComment, so the total is exact
		cc := objKey(Salesforce, "CaseComment")
		w.n[cc] = max(0, w.n[cc]+records-total)
	}
	w.accounts = make([]acctInfo, w.count(Salesforce, "Account"))
	w.byName = make(map[string]int, len(w.accounts))
	repeats := map[string]int{}
	for a := range w.accounts {
		info := w.makeAccount(a)
		// QuickBooks display names are unique; number the repeats like a bookkeeper
		// would ("Atlas Marine Inc. 2"); base names never end in a digit, so no clashes.
		repeats[info.name]++
		if n := repeats[info.name]; n > 1 {
			info.name += " " + strconv.Itoa(n)
		}
		w.byName[info.name] = a
		w.accounts[a] = info
	}
	w.build()
	return w
}

func (w *world) count(system, name string) int { return w.n[objKey(system, name)] }

// parent maps child index i of an object with n records onto np parents.
func parent(i, n, np int) int {
	if n == 0 || np == 0 {
		return -1
	}
	return int(int64(i) * int64(np) / int64(n))
}

// firstChild is the smallest child index whose parent is p (or n if none).
func firstChild(p, n, np int) int {
	if np == 0 {
		return n
	}
	c := int((int64(p)*int64(n) + int64(np) - 1) / int64(np))
	return min(c, n)
}

// stampFunc returns the seed modstamp of record i: records come in bursts of burstSize
// sharing one second, and objects with many records get one burst of bigBurst records.
func stampFunc(n int, tag uint64) func(int) time.Time {
	bursts := max(1, (n+burstSize-1)/burstSize)
	step := max(time.Second, (seedWindow / time.Duration(bursts)).Truncate(time.Second))
	offset := time.Duration(tag%600) * time.Second
	bigStart := -1
	if n >= bigBurstMinN {
		bigStart = n / 2
	}
	return func(i int) time.Time {
		g := i / burstSize
		if bigStart >= 0 && i >= bigStart && i < bigStart+bigBurst {
			g = bigStart / burstSize
		}
		return seedEpoch.Add(offset + time.Duration(g)*step)
	}
}

func (w *world) defs() []*objectDef {
	out := make([]*objectDef, 0, len(w.d))
	for _, sys := range systems {
		for _, name := range objectNames[sys] {
			if d, ok := w.d[objKey(sys, name)]; ok {
				out = append(out, d)
			}
		}
	}
	return out
}

// objectNames lists each system's objects in a stable order.
var objectNames = map[string][]string{
	Salesforce: {"Account", "Contact", "Case", "CaseComment", "Knowledge__kav", "ContentVersion", "Quote", "QuoteLineItem"},
	Accounting: {"Customer", "Invoice", "Payment", "CreditMemo", "Attachable"},
	Inventory:  {"Location", "Customer", "Order", "Item", "ItemVariation", "InventoryCount"},
}

// def registers an object; gen builds the fields, the stamps come from stampFunc.
func (w *world) def(system, name string, idOf func(int64) string, seqOf func(string) (int64, bool),
	fields func(i int, r *rnd, stamp time.Time) map[string]any, version func(i int, r *rnd) int64, required ...string) {
	n := w.count(system, name)
	tag := tagOf(system + "/" + name)
	stampOf := stampFunc(n, tag)
	d := &objectDef{system: system, name: name, seedN: n, stampOf: stampOf, idOf: idOf, seqOf: seqOf, required: required}
	d.gen = func(i int) *record {
		r := newRnd(w.seed, tag, i)
		st := stampOf(i)
		created := st.Add(-time.Duration(r.intn(90*24)) * time.Hour)
		if created.Before(seedEpoch.Add(-365 * 24 * time.Hour)) {
			created = seedEpoch
		}
		rec := &record{seq: int64(i), id: idOf(int64(i)), created: created, stamp: st}
		if version != nil {
			rec.version = version(i, r)
		}
		rec.fields = fields(i, r, st)
		if d.fill != nil {
			d.fill(r, st, rec.fields)
		}
		if isCatalog(system, name) {
			rec.version = st.UnixMilli()
		}
		return rec
	}
	w.d[objKey(system, name)] = d
}

func (w *world) build() {
	w.buildSalesforce()
	w.buildAccounting()
	w.buildInventory()
}

// sqKey keys the Square id scramble per object so ids of different objects differ.
func (w *world) sqKey(name string) uint64 { return mix(uint64(w.seed) ^ tagOf("sq/"+name)) }

func (w *world) sqIDOf(name string) (func(int64) string, func(string) (int64, bool)) {
	k := w.sqKey(name)
	return func(s int64) string { return sqID(k, s) }, func(id string) (int64, bool) { return sqSeq(k, id) }
}

func sfIDOf(prefix string) (func(int64) string, func(string) (int64, bool)) {
	return func(s int64) string { return sfID(prefix, s) }, func(id string) (int64, bool) { return sfSeq(prefix, id) }
}

// isCatalog reports Square catalog objects, whose version is a millisecond timestamp.
func isCatalog(system, name string) bool {
	return system == Inventory && (name == "Item" || name == "ItemVariation")
}
