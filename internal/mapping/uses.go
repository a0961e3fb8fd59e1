package mapping

import (
	"maps"
	"slices"
)

// Pos is a place in a mapping file: 1-based line and column.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// Errorf is a mapping Error at p.
func (p Pos) Errorf(msg string) Error {
	return Error{File: p.File, Line: p.Line, Col: p.Col, Msg: msg}
}

// PathUse is one use of a source path by a mapping: what checks a mapping
// against the source's own schema (`portico mappings check
// --connection`) needs to know about it.
type PathUse struct {
	// Path is the dotted source path as written ("Account.Name").
	Path string
	// At is where the path is written.
	At Pos
	// Field is the portal field it fills, or what else uses it: key,
	// version, modified, include, owner account, owner contact, owner
	// parent, set (a writes.*.set target).
	Field string
	// Type is the portal type the value becomes.
	Type Type
	// Read: pulls read it. Writes lists the operations that write it.
	Read   bool
	Writes []Op
	// Values maps source values to portal values (an enum's values), and
	// ValueAt says where each source value is written.
	Values  map[string]string
	ValueAt map[string]Pos
	// Transform is the read transform, in which value is the source
	// value ("" for none).
	Transform string
	// Set is the expression a writes.*.set target is given.
	Set string
	// Elements are the element fields of a list field, their paths
	// relative to one element.
	Elements []PathUse
}

// At is where the object's mapping starts.
func (o *Object) At() Pos { return o.at }

// WritesAt is where writes.op is written, and whether it is.
func (o *Object) WritesAt(op Op) (Pos, bool) {
	ws, ok := o.writes[op]
	if !ok {
		return Pos{}, false
	}
	return ws.at, true
}

// PathUses lists every use of a source path, in file order of kind: the
// source's key, version and modified, the owner, the include filter, the
// fields, then the writes' set targets.
func (o *Object) PathUses() []PathUse {
	var out []PathUse
	add := func(f *field, what string) {
		if f != nil && f.path != nil {
			out = append(out, f.use(what))
		}
	}
	for _, k := range o.keys {
		add(k, "key")
	}
	add(o.version, "version")
	add(o.modified, "modified")
	if o.account != nil {
		add(o.account.f, "owner account")
	}
	if o.contact != nil {
		add(o.contact.f, "owner contact")
	}
	if o.parent != nil {
		add(o.parent.f, "owner parent")
	}
	add(o.include, "include")
	for _, f := range o.fields {
		add(f, f.name)
	}
	for _, op := range []Op{OpCreate, OpUpdate} {
		ws, ok := o.writes[op]
		if !ok {
			continue
		}
		for _, s := range ws.set {
			out = append(out, PathUse{Path: joinPath(s.path), At: s.at, Field: "set", Writes: []Op{op}, Set: s.prg.src})
		}
	}
	return out
}

func (f *field) use(what string) PathUse {
	u := PathUse{Path: joinPath(f.path), At: f.at, Field: what, Type: f.typ, Read: f.dir == 0 || f.dir&dirRead != 0,
		Values: maps.Clone(f.values), ValueAt: maps.Clone(f.valueAt)}
	for _, op := range []Op{OpCreate, OpUpdate} {
		if f.dir.allows(op) {
			u.Writes = append(u.Writes, op)
		}
	}
	if f.trans != nil {
		u.Transform = f.trans.src
	}
	for _, ch := range f.children {
		if ch.path != nil {
			u.Elements = append(u.Elements, ch.use(ch.name))
		}
	}
	return u
}

// WrittenOn lists the source paths a create or an update sets: the
// fields the operation writes and the writes' set targets.
func (o *Object) WrittenOn(op Op) []string {
	var out []string
	for _, f := range o.fields {
		if f.path != nil && f.dir.allows(op) {
			out = append(out, joinPath(f.path))
		}
	}
	if ws, ok := o.writes[op]; ok {
		for _, s := range ws.set {
			out = append(out, joinPath(s.path))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
