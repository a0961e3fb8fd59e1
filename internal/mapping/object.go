package mapping

import (
	"cmp"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Op is a write operation a mapping may allow.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
)

// direction bits of a field.
type direction uint8

const (
	dirRead direction = 1 << iota
	dirCreate
	dirUpdate
)

func (d direction) allows(op Op) bool {
	switch op {
	case OpCreate:
		return d&dirCreate != 0
	case OpUpdate:
		return d&dirUpdate != 0
	}
	return false
}

// validation bounds what a customer may write into a field.
type validation struct {
	required   bool
	maxLength  int // 0: unbounded
	minLength  int
	pattern    *regexp.Regexp
	allowed    []string
	min, max   *float64
	hasBounded bool
}

// field is one compiled portal field.
type field struct {
	name     string
	typ      Type
	path     []string // source path, nil for a computed field
	slot     int      // index into the record's extracted values, -1 if none
	trans    *program // read transform
	wtrans   *program // write transform
	values   map[string]string
	boxed    map[string]any    // values' portal side, boxed once so mapping allocates nothing
	reverse  map[string]string // portal enum value -> source value, for writes
	def      any
	dir      direction
	valid    *validation
	roles    []string
	children []*field // element fields of a list of objects
	line     int
	at       Pos            // where the source path is written
	valueAt  map[string]Pos // where each source value of values is written
}

// ownerPart says where an owner id comes from.
type ownerPart struct {
	f   *field
	via string // portal-account key the value is resolved through; "" for a direct id
}

// parentOwner makes a record share the owner of another portal record: a
// case comment belongs to whoever owns its case.
type parentOwner struct {
	object    string
	f         *field
	line, col int
}

type statusInfo struct {
	Label    string `json:"label"`
	NextStep string `json:"next_step"`
}

type writeSpec struct {
	set []setExpr
	at  Pos
}

type setExpr struct {
	path []string
	prg  *program
	at   Pos
}

// Object is one compiled mapping: a portal object fed from one source
// object of one connection. It is safe for concurrent use.
type Object struct {
	name       string
	def        *ObjectDef
	file       string
	connection string
	source     string
	keys       []*field
	version    *field
	modified   *field
	account    *ownerPart
	contact    *ownerPart
	parent     *parentOwner
	hierarchy  bool
	include    *field
	freshness  time.Duration
	roles      []string
	decide     []string // nil: every role in roles
	sign       bool
	fields     []*field
	status     *field
	statuses   map[string]statusInfo
	writes     map[Op]*writeSpec
	hash       string
	at         Pos

	work        sync.Pool // *work, reused across records
	trie        *trieNode
	paths       [][]string
	needsRecord bool
}

// Name is the portal object name ("case").
func (o *Object) Name() string { return o.name }

// Connection is the source connection the object is fed from.
func (o *Object) Connection() string { return o.connection }

// SourceObject is the vendor object name ("Case").
func (o *Object) SourceObject() string { return o.source }

// File is the mapping file the object was defined in.
func (o *Object) File() string { return o.file }

// Hash identifies the mapping's content. A stored record mapped with a
// different hash must be re-mapped.
func (o *Object) Hash() string { return o.hash }

// Freshness is how old a cached record may be before it is stale.
func (o *Object) Freshness() time.Duration { return o.freshness }

// OwnerParentObject is the portal object whose owner this one's records
// share ("" when they are owned directly).
func (o *Object) OwnerParentObject() string {
	if o.parent == nil {
		return ""
	}
	return o.parent.object
}

// OwnerAccountPath is the source path a record's owning account is read
// from directly (not through a cross-reference, a parent or the record's
// own key), dotted, with where the mapping names it; ok is false for
// any other owner.
func (o *Object) OwnerAccountPath() (path string, at Pos, ok bool) {
	if o.account == nil || o.account.via != "" || o.account.f == nil || len(o.account.f.path) == 0 {
		return "", Pos{}, false
	}
	path = joinPath(o.account.f.path)
	for _, k := range o.keys {
		if joinPath(k.path) == path {
			return "", Pos{}, false // an account is its own owner
		}
	}
	return path, o.account.f.at, true
}

// Hierarchy reports whether a parent account sees its children's records.
func (o *Object) Hierarchy() bool { return o.hierarchy }

// Public reports objects every portal user may read (no owner).
func (o *Object) Public() bool { return !o.def.Owned }

// Def is the canonical definition of the object.
func (o *Object) Def() ObjectDef { return *o.def }

// Roles lists the roles that may see the object at all.
func (o *Object) Roles() []string { return slices.Clone(o.roles) }

// VisibleTo reports whether any of roles may see the object.
func (o *Object) VisibleTo(roles []string) bool {
	for _, r := range roles {
		if seesAll(r) || slices.Contains(o.roles, r) {
			return true
		}
	}
	return false
}

// MayDecide reports whether any of roles may decide a request of the
// object (approve or reject it): the mapping's decide roles, else every
// role that sees it.
func (o *Object) MayDecide(roles []string) bool {
	if o.decide == nil {
		return o.VisibleTo(roles)
	}
	for _, r := range roles {
		if seesAll(r) || slices.Contains(o.decide, r) {
			return true
		}
	}
	return false
}

// Sign reports whether approving a request is signing it (sign: true):
// the signer sees the document, types their name and consents, and the
// signed document is sealed and kept.
func (o *Object) Sign() bool { return o.sign }

// Writable reports whether the mapping lets customers perform op.
func (o *Object) Writable(op Op) bool {
	for _, f := range o.fields {
		if f.dir.allows(op) {
			return true
		}
	}
	return false
}

// FieldWritable reports whether the mapping lets customers set the field
// name on op.
func (o *Object) FieldWritable(op Op, name string) bool {
	f := o.fieldByName(name)
	return f != nil && f.dir.allows(op)
}

// StatusInfo returns the customer-facing label and next step of a portal
// status value.
func (o *Object) StatusInfo(status string) (label, next string, ok bool) {
	si, ok := o.statuses[status]
	return si.Label, si.NextStep, ok
}

// Statuses lists the object's portal status values, ordered by their
// labels (for a filter a customer picks from).
func (o *Object) Statuses() []string {
	out := make([]string, 0, len(o.statuses))
	for s := range o.statuses {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(o.statuses[a].Label, o.statuses[b].Label), cmp.Compare(a, b))
	})
	return out
}

// FieldNames lists the portal fields the mapping reads, in file order.
func (o *Object) FieldNames() []string {
	var out []string
	for _, f := range o.fields {
		if f.dir&dirRead != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// SourcePath returns the dotted source path of a portal field, "" for a
// computed one.
func (o *Object) SourcePath(name string) string {
	for _, f := range o.fields {
		if f.name == name {
			return joinPath(f.path)
		}
	}
	return ""
}

func (o *Object) fieldByName(name string) *field {
	for _, f := range o.fields {
		if f.name == name {
			return f
		}
	}
	return nil
}

// VisibleFields returns the subset of a mapped record's fields that a user
// holding roles may see. A role that cannot see the object sees nothing.
func (o *Object) VisibleFields(roles []string, data map[string]any) map[string]any {
	out := map[string]any{}
	if !o.VisibleTo(roles) {
		return out
	}
	all := slices.ContainsFunc(roles, seesAll)
	for _, f := range o.fields {
		v, ok := data[f.name]
		if !ok {
			continue
		}
		if all || slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(f.roles, r) }) {
			out[f.name] = v
		}
	}
	return out
}

func joinPath(p []string) string {
	s := ""
	for i, seg := range p {
		if i > 0 {
			s += "."
		}
		s += seg
	}
	return s
}

// ReadsWholeRecord is the path SourcePaths lists when a transform reads the
// whole source record (CEL's record variable), so no list of paths can
// name every field it uses: the connector then reads its default fields
// as well.
const ReadsWholeRecord = "*"

// SourcePaths lists the distinct source paths the mapping reads (key,
// version, modified, owner, include and every read field), dotted as
// written ("Region__c", "Account.Name"), in the order first used;
// ReadsWholeRecord is last when a transform reads the whole record.
// Connectors build their select lists from it.
func (o *Object) SourcePaths() []string {
	out := make([]string, 0, len(o.paths)+1)
	for _, p := range o.paths {
		out = append(out, joinPath(p))
	}
	if o.needsRecord {
		out = append(out, ReadsWholeRecord)
	}
	return out
}

// SourcePaths maps each source object of connection to the paths its
// mapping reads (Object.SourcePaths). An object no mapping reads is not
// listed.
func (s *Set) SourcePaths(connection string) map[string][]string {
	out := map[string][]string{}
	for _, o := range s.objects {
		if o.connection == connection {
			out[o.source] = append(out[o.source], o.SourcePaths()...)
		}
	}
	for k, v := range out {
		slices.Sort(v)
		out[k] = slices.Compact(v)
	}
	return out
}
