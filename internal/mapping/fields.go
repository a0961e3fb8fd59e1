package mapping

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

func typeNames() string {
	s := make([]string, len(knownTypes))
	for i, t := range knownTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func fieldNames(def *ObjectDef) string {
	s := make([]string, len(def.Fields))
	for i, fd := range def.Fields {
		s[i] = fd.Name
	}
	return strings.Join(s, ", ")
}

func (c *compiler) fields(def *ObjectDef, n *yaml.Node, objRoles []string, nested bool) []*field {
	var out []*field
	for _, p := range c.pairs(n, "fields") {
		if f := c.field(def, p.k, p.v, objRoles, nested); f != nil {
			out = append(out, f)
		}
	}
	return out
}

// field compiles one portal field. Its value is either a source path (the
// short form) or a mapping of the field's settings.
func (c *compiler) field(def *ObjectDef, kn, n *yaml.Node, objRoles []string, nested bool) *field {
	name := kn.Value
	fd, known := def.Field(name)
	custom := strings.HasPrefix(name, "x_") && len(name) > 2
	if !known && !custom {
		c.errf(kn, "unknown portal field %s.%s (known: %s; custom fields start with x_)", def.Name, name, fieldNames(def))
		return nil
	}
	f := &field{name: name, typ: fd.Type, slot: -1, dir: dirRead, roles: objRoles, line: kn.Line}
	var typeN, validN, valuesN, defaultN, fieldsN *yaml.Node
	hadSource := true
	if n.Kind == yaml.ScalarNode {
		c.fpath(f, n, "source")
	} else {
		hadSource = c.hasKey(n, "source")
		for _, p := range c.pairs(n, def.Name+"."+name, "source", "type", "transform", "write_transform", "values", "default", "direction", "validate", "roles", "fields") {
			switch p.k.Value {
			case "source":
				c.fpath(f, p.v, "source")
			case "type":
				typeN = p.v
			case "transform":
				f.trans = c.cel(c.env.read, p.k, p.v)
			case "write_transform":
				f.wtrans = c.cel(c.env.write, p.k, p.v)
			case "values":
				valuesN = p.v
			case "default":
				defaultN = p.v
			case "direction":
				f.dir = c.direction(p.v)
			case "validate":
				validN = p.v
			case "roles":
				f.roles = c.roles(p.v, objRoles)
			case "fields":
				fieldsN = p.v
			}
		}
	}
	if typeN != nil {
		if s, ok := c.str(typeN, "type"); ok {
			t := Type(s)
			switch {
			case !t.known():
				c.errf(typeN, "unknown field type %q (known: %s)", s, typeNames())
			case known && t != fd.Type:
				c.errf(typeN, "type %s does not match the portal type of %s.%s (%s)", t, def.Name, name, fd.Type)
			default:
				f.typ = t
			}
		}
	} else if custom {
		c.errf(kn, "custom field %s needs a type (known: %s)", name, typeNames())
	}
	if valuesN != nil {
		c.values(f, valuesN)
	} else if f.typ == TypeEnum {
		c.errf(kn, "enum field %s needs values (source value: portal value)", name)
	}
	if defaultN != nil {
		if v, ok := c.scalar(defaultN, "default"); ok {
			cv, err := coerce(f.typ, v)
			if err != nil {
				c.errf(defaultN, "default of %s: %v", name, err)
			}
			f.def = cv
			if f.typ == TypeEnum && f.values != nil && f.reverse[asString(cv)] == "" {
				c.errf(defaultN, "default %v of %s is not one of its portal values", v, name)
			}
		}
	}
	if validN != nil {
		f.valid = c.validation(f, validN)
	}
	if f.typ == TypeList {
		switch {
		case fd.Of != "" && fieldsN == nil:
			c.errf(kn, "list field %s needs fields (the %s fields of each element)", name, fd.Of)
		case fd.Of != "":
			sub := c.model[fd.Of]
			f.children = c.fields(sub, fieldsN, objRoles, true)
			for _, sd := range sub.Fields {
				if sd.Required && !hasField(f.children, sd.Name) {
					c.errf(fieldsN, "required portal field %s.%s is not mapped", sub.Name, sd.Name)
				}
			}
		case fieldsN != nil:
			c.errf(fieldsN, "%s is a list of values; it has no element fields", name)
		}
	} else if fieldsN != nil {
		c.errf(fieldsN, "only list fields have element fields")
	}
	if f.dir&dirRead != 0 && f.path == nil && f.trans == nil && !hadSource {
		c.errf(kn, "field %s needs a source path or a transform", name)
	}
	if f.dir&(dirCreate|dirUpdate) != 0 {
		c.writeChecks(f, kn, validN, nested)
	}
	return f
}

func hasField(fs []*field, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

func (c *compiler) writeChecks(f *field, kn, validN *yaml.Node, nested bool) {
	switch {
	case nested:
		c.errf(kn, "fields inside a list cannot be written")
		return
	case f.typ == TypeList:
		c.errf(kn, "list field %s cannot be written", f.name)
		return
	case f.path == nil:
		c.errf(kn, "write field %s needs a source path to write to", f.name)
	}
	if f.valid == nil {
		c.errf(kn, "write field %s has no validation (validate: required, max_length, pattern, allowed, min, max)", f.name)
		return
	}
	if f.typ.stringy() && f.typ != TypeEnum && !f.valid.hasBounded {
		c.errf(validN, "write field %s needs max_length, pattern or allowed", f.name)
	}
	if f.typ == TypeEnum && f.wtrans == nil {
		vals := f.valid.allowed
		if vals == nil {
			for pv := range f.reverse {
				vals = append(vals, pv)
			}
		}
		for _, pv := range vals {
			if f.reverse[pv] == ambiguous {
				c.errf(validN, "portal value %q of %s maps back to several source values; narrow validate.allowed or add a write_transform", pv, f.name)
			}
		}
	}
}

const ambiguous = "\x00ambiguous"

func (c *compiler) values(f *field, n *yaml.Node) {
	if !f.typ.stringy() {
		c.errf(n, "values apply to text and enum fields, not %s", f.typ)
		return
	}
	f.values = map[string]string{}
	f.boxed = map[string]any{}
	f.reverse = map[string]string{}
	f.valueAt = map[string]Pos{}
	for _, p := range c.pairs(n, "values") {
		f.valueAt[p.k.Value] = Pos{c.file, p.k.Line, p.k.Column}
		pv, ok := c.str(p.v, "portal value")
		if !ok {
			continue
		}
		f.values[p.k.Value] = pv
		f.boxed[p.k.Value] = pv
		if _, dup := f.reverse[pv]; dup {
			f.reverse[pv] = ambiguous
		} else {
			f.reverse[pv] = p.k.Value
		}
	}
}

func (c *compiler) direction(n *yaml.Node) direction {
	var d direction
	for _, s := range c.strs(n, "direction") {
		switch s {
		case "read":
			d |= dirRead
		case "create":
			d |= dirCreate
		case "update":
			d |= dirUpdate
		default:
			c.errf(n, "unknown direction %q (read, create, update)", s)
		}
	}
	if d == 0 {
		c.errf(n, "direction must name at least one of read, create, update")
	}
	return d
}

func (c *compiler) validation(f *field, n *yaml.Node) *validation {
	v := &validation{}
	for _, p := range c.pairs(n, "validate", "required", "max_length", "min_length", "pattern", "allowed", "min", "max") {
		switch p.k.Value {
		case "required":
			v.required = c.boolean(p.v, "required")
		case "max_length":
			v.maxLength = c.integer(p.v, "max_length")
			v.hasBounded = v.hasBounded || v.maxLength > 0
		case "min_length":
			v.minLength = c.integer(p.v, "min_length")
		case "pattern":
			if s, ok := c.str(p.v, "pattern"); ok {
				re, err := regexp.Compile(s)
				if err != nil {
					c.errf(p.v, "bad pattern: %v", err)
				}
				v.pattern = re
				v.hasBounded = true
			}
		case "allowed":
			v.allowed = c.strs(p.v, "allowed")
			if v.allowed == nil {
				v.allowed = []string{}
			}
			v.hasBounded = true
			if f.typ == TypeEnum && f.reverse != nil {
				for _, a := range v.allowed {
					if _, ok := f.reverse[a]; !ok {
						c.errf(p.v, "allowed value %q is not a portal value of %s", a, f.name)
					}
				}
			}
		case "min":
			v.min = c.float(p.v, "min")
		case "max":
			v.max = c.float(p.v, "max")
		}
	}
	return v
}

func (c *compiler) status(o *Object, kn, sk, n *yaml.Node) {
	if !o.def.HasStatus() {
		if n != nil {
			c.errf(n, "%s has no status field to label", o.name)
		}
		return
	}
	sf := o.fieldByName("status")
	if n == nil {
		c.errf(kn, "%s: missing status (a label and next_step for every status value)", o.name)
		return
	}
	o.status = sf
	o.statuses = map[string]statusInfo{}
	for _, p := range c.pairs(n, "status") {
		var si statusInfo
		for _, q := range c.pairs(p.v, "status "+p.k.Value, "label", "next_step") {
			s, _ := c.str(q.v, q.k.Value)
			if q.k.Value == "label" {
				si.Label = s
			} else {
				si.NextStep = s
			}
		}
		if si.Label == "" || si.NextStep == "" {
			c.errf(p.k, "status %q needs a customer-facing label and next_step", p.k.Value)
		}
		if sf != nil && sf.reverse != nil {
			if _, ok := sf.reverse[p.k.Value]; !ok {
				c.errf(p.k, "status %q is not a portal value of %s.status", p.k.Value, o.name)
			}
		}
		o.statuses[p.k.Value] = si
	}
	if sf == nil || sf.reverse == nil {
		return
	}
	for pv := range sf.reverse {
		if _, ok := o.statuses[pv]; !ok {
			c.errf(sk, "status %q has no customer-facing label and next_step", pv)
		}
	}
}

func (c *compiler) writes(o *Object, n *yaml.Node) {
	for _, p := range c.pairs(n, "writes", string(OpCreate), string(OpUpdate)) {
		op := Op(p.k.Value)
		if !o.Writable(op) {
			c.errf(p.k, "writes.%s given but no field allows %s", op, op)
		}
		ws := &writeSpec{at: Pos{c.file, p.k.Line, p.k.Column}}
		for _, q := range c.pairs(p.v, "writes."+string(op), "set") {
			for _, s := range c.pairs(q.v, "set") {
				pth := c.path(s.k, "set target")
				if prg := c.cel(c.env.write, s.k, s.v); prg != nil && pth != nil {
					ws.set = append(ws.set, setExpr{path: pth, prg: prg, at: Pos{c.file, s.k.Line, s.k.Column}})
				}
			}
		}
		o.writes[op] = ws
	}
}

// plan assigns each distinct source path a slot and builds the scanner's
// trie, so a record is read in one pass.
func (o *Object) plan() {
	o.trie = newTrie()
	slots := map[string]int{}
	assign := func(f *field) {
		if f == nil || f.path == nil {
			return
		}
		k := joinPath(f.path)
		s, ok := slots[k]
		if !ok {
			s = len(o.paths)
			slots[k] = s
			o.paths = append(o.paths, f.path)
			o.trie.add(f.path, s)
		}
		f.slot = s
	}
	uses := func(f *field) {
		if f != nil && f.trans != nil && f.trans.uses["record"] {
			o.needsRecord = true
		}
	}
	for _, f := range o.keys {
		assign(f)
	}
	assign(o.version)
	assign(o.modified)
	assign(o.include)
	uses(o.include)
	if o.parent != nil {
		assign(o.parent.f)
		uses(o.parent.f)
	}
	for _, p := range []*ownerPart{o.account, o.contact} {
		if p != nil {
			assign(p.f)
			uses(p.f)
		}
	}
	for _, f := range o.fields {
		if f.dir&dirRead != 0 {
			assign(f)
		}
		uses(f)
		for _, ch := range f.children {
			uses(ch)
		}
	}
}
