package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"
)

// engineVersion is part of every hash, so a change in how the engine maps
// re-maps stored records too.
const engineVersion = "mapping/1"

// Set is every compiled mapping. It is safe for concurrent use.
type Set struct {
	objects  []*Object
	bySource map[string]*Object
}

// Objects returns every mapping, in file order.
func (s *Set) Objects() []*Object { return append([]*Object(nil), s.objects...) }

// Object returns the mapping of a portal object. When several connections
// feed the same portal object (documents from the CRM and from accounting)
// it returns the first loaded; use For to pick one by connection.
func (s *Set) Object(name string) (*Object, bool) {
	for _, o := range s.objects {
		if o.name == name {
			return o, true
		}
	}
	return nil, false
}

// For returns the mapping of a portal object fed by connection.
func (s *Set) For(connection, name string) (*Object, bool) {
	for _, o := range s.objects {
		if o.name == name && o.connection == connection {
			return o, true
		}
	}
	return nil, false
}

// BySource returns the mapping for records of a connection's source object,
// which is how the sync finds the mapping for what it pulled.
func (s *Set) BySource(connection, sourceObject string) (*Object, bool) {
	o, ok := s.bySource[connection+"\x00"+sourceObject]
	return o, ok
}

// OwnsThrough reports whether some mapping of connection owns its records
// through records of the portal object (a case comment through its case).
func (s *Set) OwnsThrough(connection, object string) bool {
	for _, o := range s.objects {
		if o.connection == connection && o.OwnerParentObject() == object {
			return true
		}
	}
	return false
}

// Load compiles the named mapping files of fsys, or every *.yaml at its
// root when no names are given. It returns Errors listing every problem
// in every file.
func Load(fsys fs.FS, names ...string) (*Set, error) {
	if len(names) == 0 {
		var err error
		names, err = fs.Glob(fsys, "*.yaml")
		if err != nil {
			return nil, fmt.Errorf("mapping: %w", err)
		}
		if len(names) == 0 {
			return nil, errors.New("mapping: no *.yaml mapping files found")
		}
	}
	files := make([]srcFile, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("mapping: %w", err)
		}
		files = append(files, srcFile{name: n, data: b})
	}
	return compileFiles(files)
}

// LoadFiles compiles mapping files from the operating system's paths.
func LoadFiles(paths ...string) (*Set, error) {
	files := make([]srcFile, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("mapping: %w", err)
		}
		files = append(files, srcFile{name: p, data: b})
	}
	return compileFiles(files)
}

// Parse compiles one mapping file held in memory.
func Parse(name string, data []byte) (*Set, error) {
	return compileFiles([]srcFile{{name: name, data: data}})
}

type srcFile struct {
	name string
	data []byte
}

func compileFiles(files []srcFile) (*Set, error) {
	ev, err := newEnvs()
	if err != nil {
		return nil, err
	}
	model := map[string]*ObjectDef{}
	for _, def := range Model() {
		model[def.Name] = &def
	}
	var errs Errors
	set := &Set{bySource: map[string]*Object{}}
	type seen struct {
		file string
		line int
	}
	byName := map[string]seen{}
	for _, sf := range files {
		c := &compiler{dec: dec{file: sf.name, errs: &errs}, env: ev, model: model}
		for _, o := range c.parseFile(sf.data) {
			key := o.name + "\x00" + o.connection
			if prev, dup := byName[key]; dup {
				errs = append(errs, Error{File: sf.name, Line: o.line, Col: o.col, Msg: fmt.Sprintf("%s from connection %q is already mapped at %s:%d", o.name, o.connection, prev.file, prev.line)})
				continue
			}
			skey := o.connection + "\x00" + o.source
			if prev, dup := set.bySource[skey]; dup {
				errs = append(errs, Error{File: sf.name, Line: o.line, Col: o.col, Msg: fmt.Sprintf("source %s.%s already feeds %s", o.connection, o.source, prev.name)})
				continue
			}
			byName[key] = seen{sf.name, o.line}
			set.bySource[skey] = o.Object
			set.objects = append(set.objects, o.Object)
		}
	}
	for _, o := range set.objects {
		if po := o.parent; po != nil {
			if _, ok := set.For(o.connection, po.object); !ok {
				errs = append(errs, Error{File: o.file, Line: po.line, Col: po.col,
					Msg: fmt.Sprintf("owner parent %s is not mapped from connection %q", po.object, o.connection)})
			}
		}
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return set, nil
}

type compiler struct {
	dec
	env   *envs
	model map[string]*ObjectDef
}

type lined struct {
	*Object
	line, col int
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func (c *compiler) parseFile(data []byte) []lined {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line := 1
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		c.errAt(line, 1, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		c.errAt(1, 1, "empty mapping file")
		return nil
	}
	doc := root.Content[0]
	budget := 1_000_000
	before := len(*c.errs)
	c.checkNoAliases(doc, &budget)
	if len(*c.errs) > before {
		return nil
	}
	defConn := ""
	var objects *yaml.Node
	for _, p := range c.pairs(doc, "mapping file", "version", "connection", "objects") {
		switch p.k.Value {
		case "version":
			if p.v.Value != "1" {
				c.errf(p.v, "unsupported mapping version %q (this engine reads version 1)", p.v.Value)
			}
		case "connection":
			defConn, _ = c.str(p.v, "connection")
		case "objects":
			objects = p.v
		}
	}
	if objects == nil {
		c.errf(doc, "mapping file has no objects")
		return nil
	}
	var out []lined
	for _, p := range c.pairs(objects, "objects") {
		if o := c.object(p.k, p.v, defConn); o != nil {
			out = append(out, lined{o, p.k.Line, p.k.Column})
		}
	}
	return out
}

func (c *compiler) object(kn, n *yaml.Node, defConn string) *Object {
	name := kn.Value
	def, ok := c.model[name]
	if !ok || def.Embedded {
		c.errf(kn, "unknown portal object %q (known: %s)", name, strings.Join(c.topLevel(), ", "))
		return nil
	}
	before := len(*c.errs)
	o := &Object{name: name, def: def, file: c.file, connection: defConn, writes: map[Op]*writeSpec{}, at: Pos{c.file, kn.Line, kn.Column}}
	var ownerN, statusN, statusK, writesN, fieldsN, sourceN *yaml.Node
	var rolesN, decideN, signN *yaml.Node
	for _, p := range c.pairs(n, name, "source", "owner", "include", "freshness", "roles", "decide", "sign", "fields", "status", "writes") {
		switch p.k.Value {
		case "source":
			sourceN = p.v
		case "owner":
			ownerN = p.v
		case "include":
			o.include = c.include(p.v)
		case "freshness":
			if s, ok := c.str(p.v, "freshness"); ok {
				d, err := time.ParseDuration(s)
				if err != nil || d <= 0 {
					c.errf(p.v, "freshness %q must be a positive duration such as 60s or 15m", s)
				}
				o.freshness = d
			}
		case "roles":
			rolesN = p.v
		case "decide":
			decideN = p.v
		case "sign":
			signN = p.v
		case "fields":
			fieldsN = p.v
		case "status":
			statusK, statusN = p.k, p.v
		case "writes":
			writesN = p.v
		}
	}
	if sourceN == nil {
		c.errf(kn, "%s: missing source (connection, object and key)", name)
	} else {
		c.source(o, sourceN)
	}
	if o.freshness == 0 && !c.hasKey(n, "freshness") {
		c.errf(kn, "%s: missing freshness target (for example freshness: 60s)", name)
	}
	if rolesN == nil {
		c.errf(kn, "%s: missing roles (who may see the object, e.g. roles: [member, account_admin])", name)
	} else {
		o.roles = c.roles(rolesN, nil)
	}
	c.decision(o, decideN, signN)
	switch {
	case ownerN != nil && !def.Owned:
		c.errf(ownerN, "%s is public; it has no owner relation", name)
	case ownerN == nil && def.Owned:
		c.errf(kn, "%s: missing owner relation (owner: {account: <source path>, contact: <source path>, hierarchy: true|false})", name)
	case ownerN != nil:
		c.owner(o, ownerN)
	}
	if fieldsN == nil {
		c.errf(kn, "%s: missing fields", name)
	} else {
		o.fields = c.fields(def, fieldsN, o.roles, false)
		for _, fd := range def.Fields {
			if fd.Required && o.fieldByName(fd.Name) == nil {
				c.errf(fieldsN, "required portal field %s.%s is not mapped", name, fd.Name)
			}
		}
	}
	c.status(o, kn, statusK, statusN)
	if writesN != nil {
		c.writes(o, writesN)
	}
	if len(*c.errs) > before {
		return nil
	}
	o.hash = hashNode(engineVersion+"\x00"+o.connection, n)
	o.plan()
	return o
}

func (c *compiler) topLevel() []string {
	var out []string
	for n, d := range c.model {
		if !d.Embedded {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (c *compiler) hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (c *compiler) source(o *Object, n *yaml.Node) {
	var haveKey bool
	for _, p := range c.pairs(n, "source", "connection", "object", "key", "version", "modified") {
		switch p.k.Value {
		case "connection":
			o.connection, _ = c.str(p.v, "source connection")
		case "object":
			o.source, _ = c.str(p.v, "source object")
		case "key":
			haveKey = true
			nodes := []*yaml.Node{p.v}
			if p.v.Kind == yaml.SequenceNode {
				nodes = p.v.Content
			}
			for _, kn := range nodes {
				f := &field{name: "key", typ: TypeID, slot: -1, line: kn.Line}
				if c.fpath(f, kn, "key") {
					o.keys = append(o.keys, f)
				}
			}
		case "version":
			f := &field{name: "version", typ: TypeString, slot: -1}
			if c.fpath(f, p.v, "version") {
				o.version = f
			}
		case "modified":
			f := &field{name: "modified", typ: TypeDateTime, slot: -1}
			if c.fpath(f, p.v, "modified") {
				o.modified = f
			}
		}
	}
	if o.connection == "" {
		c.errf(n, "source: missing connection (here or at the top of the file)")
	}
	if o.source == "" {
		c.errf(n, "source: missing object (the vendor object name, e.g. Case)")
	}
	if !haveKey {
		c.errf(n, "source: missing key (the source id field, e.g. Id)")
	}
}

// include compiles the object's filter: records for which it is not true
// are mapped but marked hidden (drafts, internal comments).
func (c *compiler) include(n *yaml.Node) *field {
	f := &field{name: "include", typ: TypeBool, slot: -1}
	for _, p := range c.pairs(n, "include", "source", "transform") {
		switch p.k.Value {
		case "source":
			c.fpath(f, p.v, "include source")
		case "transform":
			f.trans = c.cel(c.env.read, p.k, p.v)
		}
	}
	if f.trans == nil {
		c.errf(n, "include needs a transform that is true for records customers may see")
	}
	return f
}

// decision reads who may decide a request (decide: roles among the
// object's) and whether deciding is signing (sign: true); only approval
// requests are decided.
func (c *compiler) decision(o *Object, decideN, signN *yaml.Node) {
	for _, n := range []*yaml.Node{decideN, signN} {
		if n != nil && o.name != "approval_request" {
			c.errf(n, "%s: only approval_request is decided or signed", o.name)
			return
		}
	}
	if decideN != nil {
		o.decide = c.roles(decideN, o.roles)
		if len(o.decide) == 0 {
			c.errf(decideN, "decide must name at least one role (leave it out to let every role that sees the request decide)")
		}
	}
	if signN != nil {
		o.sign = c.boolean(signN, "sign")
	}
}

func (c *compiler) roles(n *yaml.Node, within []string) []string {
	rs := c.strs(n, "roles")
	for _, r := range rs {
		if !contains(Roles(), r) {
			c.errf(n, "unknown role %q (known: %s)", r, strings.Join(Roles(), ", "))
			continue
		}
		if within != nil && !seesAll(r) && !contains(within, r) {
			c.errf(n, "role %q cannot see this object (object roles: %s)", r, strings.Join(within, ", "))
		}
	}
	return rs
}

func (c *compiler) owner(o *Object, n *yaml.Node) {
	for _, p := range c.pairs(n, "owner", "account", "contact", "parent", "hierarchy") {
		switch p.k.Value {
		case "account":
			o.account = c.ownerPart(p.v, true)
		case "contact":
			o.contact = c.ownerPart(p.v, false)
		case "parent":
			o.parent = c.parentOwner(p.v)
		case "hierarchy":
			o.hierarchy = c.boolean(p.v, "hierarchy")
		}
	}
	switch {
	// A record may name its account and its parent both (a document
	// published to an account or to a case): the account wins when it
	// resolves, the parent's owner otherwise. A contact would contradict
	// the parent's contact.
	case o.parent != nil && o.contact != nil:
		c.errf(n, "owner: give either parent or contact, not both")
	case o.account == nil && o.parent == nil:
		c.errf(n, "owner: missing account (the source path of the owning account, or {source: ..., via: <account key>}) or parent ({object: <portal object>, source: <its id path>})")
	}
}

// parentOwner compiles owner.parent: {object, source, transform}.
func (c *compiler) parentOwner(n *yaml.Node) *parentOwner {
	po := &parentOwner{f: &field{name: "owner parent", typ: TypeID, slot: -1}, line: n.Line, col: n.Column}
	for _, p := range c.pairs(n, "owner parent", "object", "source", "transform") {
		switch p.k.Value {
		case "object":
			po.object, _ = c.str(p.v, "parent object")
			po.line, po.col = p.v.Line, p.v.Column
		case "source":
			c.fpath(po.f, p.v, "parent source")
		case "transform":
			po.f.trans = c.cel(c.env.read, p.k, p.v)
		}
	}
	switch def, ok := c.model[po.object]; {
	case po.object == "":
		c.errf(n, "owner parent: missing object (the portal object whose owner this record shares)")
	case !ok || !def.Owned || def.Embedded:
		c.errf(n, "owner parent: %q is not an owned portal object", po.object)
	}
	if po.f.path == nil && po.f.trans == nil {
		c.errf(n, "owner parent needs a source path (the parent's source id) or a transform")
	}
	return po
}

func (c *compiler) ownerPart(n *yaml.Node, account bool) *ownerPart {
	what := "owner contact"
	if account {
		what = "owner account"
	}
	if n.Kind == yaml.ScalarNode {
		f := &field{name: what, typ: TypeID, slot: -1}
		if c.fpath(f, n, what) {
			return &ownerPart{f: f}
		}
		return nil
	}
	op := &ownerPart{f: &field{name: what, typ: TypeID, slot: -1}}
	allowed := []string{"source", "transform"}
	if account {
		allowed = append(allowed, "via")
	}
	for _, p := range c.pairs(n, what, allowed...) {
		switch p.k.Value {
		case "source":
			c.fpath(op.f, p.v, what+" source")
		case "transform":
			op.f.trans = c.cel(c.env.read, p.k, p.v)
		case "via":
			op.via, _ = c.str(p.v, "via")
			keys := c.model["account"].RefKeys
			if !contains(keys, op.via) {
				c.errf(p.v, "via %q is not an account reference key (known: %s)", op.via, strings.Join(keys, ", "))
			}
		}
	}
	if op.f.path == nil && op.f.trans == nil {
		c.errf(n, "%s needs a source path or a transform", what)
	}
	return op
}

func (c *compiler) cel(env *cel.Env, kn, vn *yaml.Node) *program {
	src, ok := c.str(vn, "expression")
	if !ok {
		return nil
	}
	p, issues := compileCEL(env, src)
	for _, is := range issues {
		line, col := celPos(kn, vn, is)
		c.errAt(line, col, "bad CEL expression: %s", is.msg)
	}
	return p
}

// hashNode hashes a node's meaning: key order, comments and layout do not
// count.
func hashNode(prefix string, n *yaml.Node) string {
	h := sha256.New()
	h.Write([]byte(prefix))
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			type pair struct{ k, v *yaml.Node }
			ps := make([]pair, 0, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				ps = append(ps, pair{n.Content[i], n.Content[i+1]})
			}
			sort.Slice(ps, func(i, j int) bool { return ps[i].k.Value < ps[j].k.Value })
			h.Write([]byte("{"))
			for _, p := range ps {
				fmt.Fprintf(h, "%q:", p.k.Value)
				walk(p.v)
				h.Write([]byte(","))
			}
			h.Write([]byte("}"))
		case yaml.SequenceNode:
			h.Write([]byte("["))
			for _, e := range n.Content {
				walk(e)
				h.Write([]byte(","))
			}
			h.Write([]byte("]"))
		default:
			fmt.Fprintf(h, "%s%q", n.ShortTag(), n.Value)
		}
	}
	walk(n)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Covers reports whether the roles held reach everything role reaches in
// this set: every object and every field (nested ones included) that role
// may see, one of held may see too. An account admin may then grant a
// role they do not hold by name, as long as it widens nothing.
func (s *Set) Covers(held []string, role string) bool {
	if slices.Contains(held, role) {
		return true
	}
	reaches := func(roles []string) bool {
		if !slices.Contains(roles, role) {
			return true
		}
		for _, h := range held {
			if seesAll(h) || slices.Contains(roles, h) {
				return true
			}
		}
		return false
	}
	var fieldsCovered func(fs []*field) bool
	fieldsCovered = func(fs []*field) bool {
		for _, f := range fs {
			if !reaches(f.roles) || !fieldsCovered(f.children) {
				return false
			}
		}
		return true
	}
	for _, o := range s.objects {
		if !reaches(o.roles) || !fieldsCovered(o.fields) {
			return false
		}
	}
	return true
}
