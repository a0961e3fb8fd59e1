// Package mapcheck checks field mappings against the source's own schema
// (connectors.Describer): that each mapped path exists, that its type fits
// the portal field's type and the transform that reads it, that a written
// field may be created or updated, that a picklist has every value the
// mapping's values name, and that a create sets every field the source
// requires. `portico mappings check --connection` prints its findings,
// each at the file:line:col of the mapping that causes it.
package mapcheck

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/mapping"
)

// Result is what a check found.
type Result struct {
	// Problems are the mismatches, sorted by file and position.
	Problems mapping.Errors
	// Notes are what could not be checked, and why.
	Notes []string
	// Objects counts the object mappings checked.
	Objects int
}

// Check checks every object mapping of set fed by connection against d.
// An error is returned only when the source cannot be described at all.
func Check(ctx context.Context, set *mapping.Set, connection string, d connectors.Describer) (*Result, error) {
	ck := &checker{d: d, cache: map[string]*connectors.ObjectSchema{}, failed: map[string]error{}}
	res := &Result{}
	for _, o := range set.Objects() {
		if o.Connection() != connection {
			continue
		}
		res.Objects++
		s, err := ck.describe(ctx, o.SourceObject())
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			res.Problems = append(res.Problems, o.At().Errorf(fmt.Sprintf("%s: the source cannot describe %s: %v", o.Name(), o.SourceObject(), err)))
			continue
		}
		ck.object(ctx, o, s)
	}
	res.Problems = append(res.Problems, ck.problems...)
	res.Problems = sortErrors(res.Problems)
	res.Notes = ck.notes
	return res, nil
}

type checker struct {
	d        connectors.Describer
	cache    map[string]*connectors.ObjectSchema
	failed   map[string]error
	problems mapping.Errors
	notes    []string
}

func (ck *checker) describe(ctx context.Context, object string) (*connectors.ObjectSchema, error) {
	if s, ok := ck.cache[object]; ok {
		return s, nil
	}
	if err, ok := ck.failed[object]; ok {
		return nil, err
	}
	s, err := ck.d.Describe(ctx, object)
	if err != nil {
		ck.failed[object] = err
		return nil, err
	}
	ck.cache[object] = s
	return s, nil
}

func (ck *checker) errf(at mapping.Pos, format string, args ...any) {
	ck.problems = append(ck.problems, at.Errorf(fmt.Sprintf(format, args...)))
}

func (ck *checker) object(ctx context.Context, o *mapping.Object, s *connectors.ObjectSchema) {
	for _, u := range o.PathUses() {
		f, name, related, ok := ck.resolve(ctx, s, u)
		if !ok {
			continue
		}
		ck.use(u, f, name, related)
		for _, el := range u.Elements {
			if f.Kind != connectors.KindList || len(f.Fields) == 0 {
				break
			}
			elem := &connectors.ObjectSchema{Name: name + "[]", Fields: f.Fields}
			if ef, ename, erel, ok := ck.resolve(ctx, elem, el); ok {
				ck.use(el, ef, ename, erel)
			}
		}
	}
	if !o.Writable(mapping.OpCreate) {
		return
	}
	at, ok := o.WritesAt(mapping.OpCreate)
	if !ok {
		at = o.At()
	}
	written := o.WrittenOn(mapping.OpCreate)
	for _, f := range s.Fields {
		if f.Required && !slices.Contains(written, f.Name) {
			ck.errf(at, "%s: %s.%s%s is required to create a %s, and the mapping's create does not set it (give a field direction [create], or writes.create.set)",
				o.Name(), s.Name, f.Name, label(f), s.Name)
		}
	}
	// The source would take a record that belongs to nobody; the cache
	// shows it as its creator's until the next sync reads it back with no
	// owner, and it leaves their lists.
	if path, _, ok := o.OwnerAccountPath(); ok && !slices.Contains(written, path) {
		ck.errf(at, "%s: its owning account is read from %s.%s, which the mapping's create does not set: a %s created in the portal would belong to no account at the source and leave its creator's lists at the next sync (writes.create.set: {%s: actor.account_id})",
			o.Name(), s.Name, path, s.Name, path)
	}
}

// resolve walks a use's path through the schema: nested objects and
// lists, and Salesforce-style relationships (Account.Name through
// AccountId's relationship Account to the Account describe). It reports
// a path that does not resolve; ok is false then, or when the path
// cannot be checked (a related object the source will not describe).
func (ck *checker) resolve(ctx context.Context, s *connectors.ObjectSchema, u mapping.PathUse) (f connectors.FieldSchema, name string, related, ok bool) {
	segs := strings.Split(u.Path, ".")
	fields := s.Fields
	owner := s.Name
	for i, seg := range segs {
		shown := owner + "." + seg
		last := i == len(segs)-1
		if f, ok := find(fields, seg); ok {
			if last {
				return f, shown, related, true
			}
			if f.Kind == connectors.KindObject || f.Kind == connectors.KindList {
				if len(f.Fields) == 0 {
					ck.notes = append(ck.notes, fmt.Sprintf("%s: %s: %s is %s without a known shape: the rest of the path is not checked", pos(u.At), u.Path, shown, kindWords(f)))
					return f, shown, related, false
				}
				fields, owner = f.Fields, shown
				continue
			}
		}
		if rel, ok := relationship(fields, seg); ok && len(rel.ReferenceTo) > 0 {
			target, ts, err := ck.related(ctx, rel.ReferenceTo, segs, i)
			if err != nil {
				ck.notes = append(ck.notes, fmt.Sprintf("%s: %s: %s is not checked: the source cannot describe %s (%v)", pos(u.At), u.Path, strings.Join(segs[i+1:], "."), target, err))
				return connectors.FieldSchema{}, "", true, false
			}
			related = true
			if last {
				return connectors.FieldSchema{Name: seg, Kind: connectors.KindObject, Type: "relationship"}, shown, related, true
			}
			fields, owner = ts.Fields, target
			continue
		}
		if f, ok := find(fields, seg); ok && !last {
			ck.errf(u.At, "%s is %s: it has no field %s (in %s)", shown, kindWords(f), segs[i+1], u.Path)
			return connectors.FieldSchema{}, "", related, false
		}
		ck.errf(u.At, "%s does not exist%s", shown, suggest(fields, seg))
		return connectors.FieldSchema{}, "", related, false
	}
	return connectors.FieldSchema{}, "", related, false
}

// related describes the object a relationship leads to. A polymorphic one
// (Owner: Group or User) leads to the first target that has the path's
// next name, else to the first that the source describes.
func (ck *checker) related(ctx context.Context, targets, segs []string, i int) (string, *connectors.ObjectSchema, error) {
	var first *connectors.ObjectSchema
	var firstName string
	var firstErr error
	for _, t := range targets {
		ts, err := ck.describe(ctx, t)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if first == nil {
			first, firstName = ts, t
		}
		if i+1 < len(segs) {
			if _, ok := find(ts.Fields, segs[i+1]); ok {
				return t, ts, nil
			}
			if _, ok := relationship(ts.Fields, segs[i+1]); ok {
				return t, ts, nil
			}
		}
	}
	if first != nil {
		return firstName, first, nil
	}
	return targets[0], nil, firstErr
}

func find(fs []connectors.FieldSchema, name string) (connectors.FieldSchema, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return connectors.FieldSchema{}, false
}

func relationship(fs []connectors.FieldSchema, name string) (connectors.FieldSchema, bool) {
	for _, f := range fs {
		if f.Relationship == name {
			return f, true
		}
	}
	return connectors.FieldSchema{}, false
}

// suggest names the field the author probably meant: the same name in
// another case (the record's JSON has the source's spelling, so a path in
// another case reads nothing), else the closest names.
func suggest(fs []connectors.FieldSchema, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return fmt.Sprintf(" (did you mean %s? names are case-sensitive)", f.Name)
		}
		if f.Relationship != "" && strings.EqualFold(f.Relationship, name) {
			return fmt.Sprintf(" (did you mean the relationship %s? names are case-sensitive)", f.Relationship)
		}
	}
	best, bestD := "", 4
	for _, f := range fs {
		if d := distance(strings.ToLower(f.Name), strings.ToLower(name)); d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

// distance is the Levenshtein distance of two short names.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// use checks one resolved use: type, transform, picklist values, writes.
func (ck *checker) use(u mapping.PathUse, f connectors.FieldSchema, name string, related bool) {
	what := fmt.Sprintf("%s%s", name, label(f))
	switch {
	case u.Field == "set":
		// A constant a write sets: the value is the expression's.
	case u.Transform != "":
		if t := celType(f.Kind); t != "" {
			for _, msg := range mapping.TransformFits(u.Transform, t) {
				ck.errf(u.At, "%s is %s, which the transform of %s cannot read as written: %s", what, kindWords(f), u.Field, msg)
			}
		}
	case u.Type != "" && !fits(u.Type, f.Kind):
		ck.errf(u.At, "%s is %s, which does not fit %s's portal type %s%s", what, kindWords(f), u.Field, u.Type, hint(u.Type, f.Kind))
	}
	if len(f.Picklist) > 0 && len(u.Values) > 0 {
		keys := make([]string, 0, len(u.Values))
		for k := range u.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(f.Picklist, k) {
				at, ok := u.ValueAt[k]
				if !ok {
					at = u.At
				}
				ck.errf(at, "%s is a %s without value %q (values: %s)", name, f.Type, k, strings.Join(f.Picklist, ", "))
			}
		}
	}
	if u.Field == "set" && len(f.Picklist) > 0 && f.Restricted {
		if lit, ok := stringLiteral(u.Set); ok && !slices.Contains(f.Picklist, lit) {
			ck.errf(u.At, "%s is a %s without value %q, which writes set (values: %s)", name, f.Type, lit, strings.Join(f.Picklist, ", "))
		}
	}
	for _, op := range u.Writes {
		switch {
		case related:
			ck.errf(u.At, "%s is a field of a related record (%s): a %s of the %s cannot set it", what, u.Path, op, u.Field)
		case op == mapping.OpCreate && !f.Createable:
			ck.errf(u.At, "%s is not createable: the source refuses it on create (%s)", what, writeWhy(u))
		case op == mapping.OpUpdate && !f.Updateable:
			ck.errf(u.At, "%s is not updateable: the source refuses it on update (%s)", what, writeWhy(u))
		}
	}
}

func writeWhy(u mapping.PathUse) string {
	if u.Field == "set" {
		return "a writes.*.set target"
	}
	return "the direction of " + u.Field
}

// stringLiteral returns the value of a CEL expression that is one quoted
// string ('Web').
func stringLiteral(src string) (string, bool) {
	src = strings.TrimSpace(src)
	if len(src) < 2 || (src[0] != '\'' && src[0] != '"') || src[len(src)-1] != src[0] {
		return "", false
	}
	inner := src[1 : len(src)-1]
	if strings.ContainsAny(inner, `'"\`) {
		return "", false
	}
	return inner, true
}

func label(f connectors.FieldSchema) string {
	if f.Label == "" || f.Label == f.Name {
		return ""
	}
	return " (" + strconv.Quote(f.Label) + ")"
}

// kindWords says what a field is, in the source's words where it has
// them: "a picklist", "a reference (id)", "a Money object".
func kindWords(f connectors.FieldSchema) string {
	t := f.Type
	if t == "" {
		t = string(f.Kind)
	}
	switch f.Kind {
	case connectors.KindObject, connectors.KindList:
		if t == string(f.Kind) {
			return article(t)
		}
		return article(t) + " " + string(f.Kind)
	}
	if t == string(f.Kind) {
		return article(t)
	}
	return fmt.Sprintf("%s (%s)", article(t), f.Kind)
}

func article(w string) string {
	if w != "" && strings.ContainsRune("aeiouAEIOU", rune(w[0])) {
		return "an " + w
	}
	return "a " + w
}

// fits says whether a source value of kind becomes a portal value of t
// as the mapping engine converts it (mapping's coerce).
func fits(t mapping.Type, k connectors.FieldKind) bool {
	scalar := k != connectors.KindObject && k != connectors.KindList
	switch t {
	case mapping.TypeID, mapping.TypeString, mapping.TypeText, mapping.TypeEmail, mapping.TypeEnum:
		return scalar
	case mapping.TypeBinary:
		return k == connectors.KindBinary || k == connectors.KindString || k == connectors.KindText
	case mapping.TypeInt:
		return k == connectors.KindInt
	case mapping.TypeNumber:
		return k == connectors.KindInt || k == connectors.KindNumber || k == connectors.KindDecimal
	case mapping.TypeBool:
		return k == connectors.KindBool
	case mapping.TypeDate:
		return k == connectors.KindDate || k == connectors.KindDateTime
	case mapping.TypeDateTime:
		return k == connectors.KindDateTime
	case mapping.TypeList:
		return k == connectors.KindList
	}
	return false
}

func hint(t mapping.Type, k connectors.FieldKind) string {
	switch {
	case k == connectors.KindObject:
		return ": map one of its fields (a path through it), or add a transform"
	case k == connectors.KindList:
		return ": map it to a list field, or add a transform"
	case t == mapping.TypeInt && (k == connectors.KindNumber || k == connectors.KindDecimal):
		return ": it may hold fractions; map it to a number field"
	}
	return ": add a transform that converts it, or map another field"
}

// celType is the CEL type of a source value of kind, for type-checking a
// transform; "" for kinds that are not checked.
func celType(k connectors.FieldKind) string {
	switch k {
	case connectors.KindString, connectors.KindText, connectors.KindID, connectors.KindDate, connectors.KindDateTime, connectors.KindBinary, connectors.KindDecimal:
		return "string"
	case connectors.KindInt:
		return "int"
	case connectors.KindNumber:
		return "double"
	case connectors.KindBool:
		return "bool"
	}
	return ""
}

func pos(p mapping.Pos) string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

func sortErrors(es mapping.Errors) mapping.Errors {
	slices.SortStableFunc(es, func(a, b mapping.Error) int {
		switch {
		case a.File != b.File:
			return strings.Compare(a.File, b.File)
		case a.Line != b.Line:
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return es
}
