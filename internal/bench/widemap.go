package bench

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// WideFields is how many fields each object of the wide mapping has: the
// cost of wider selects is measured with it against the shipped mappings.
const WideFields = 60

// wideSFTypes is the mix of the wide mapping's Salesforce custom fields,
// cycled: mostly text, as in orgs, then a field of each other common
// type. Each is read into the portal type beside it.
var wideSFTypes = []struct{ sf, portal string }{
	{"string", "string"}, {"string", "string"}, {"string", "string"}, {"textarea", "text"}, {"double", "number"},
	{"currency", "number"}, {"percent", "number"}, {"boolean", "bool"}, {"date", "date"}, {"datetime", "datetime"},
}

// wideObject is one portal object of a mapping file being widened.
type wideObject struct {
	connection, source string
	fields             *yaml.Node // the object's fields mapping
}

// widening is the shipped mappings with every object widened to
// WideFields fields by custom x_wide_NN fields. On Salesforce they read
// custom fields Wide_NN__c of a mix of types, which the simulated org
// must then have, filled (SimOptions); QuickBooks and Square read whole
// records whatever a mapping names, so there they read the scalar paths
// the simulators' records carry (cycled when an object has fewer).
type widening struct {
	n       int
	files   map[string]*yaml.Node // file name -> document
	objects []wideObject
	// custom are the Salesforce custom fields per sObject; types are theirs
	// other than text, keyed Object.Field.
	custom map[string][]string
	types  map[string]string
}

// newWidening reads the shipped mapping files and plans n fields per object.
func newWidening(n int) (*widening, error) {
	w := &widening{n: n, files: map[string]*yaml.Node{}, custom: map[string][]string{}, types: map[string]string{}}
	names, err := fs.Glob(mappings.FS(), "*.yaml")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(mappings.FS(), name)
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", name, err)
		}
		w.files[name] = &doc
		root := doc.Content[0]
		conn := scalarAt(root, "connection")
		objs := nodeAt(root, "objects")
		if objs == nil {
			continue
		}
		for i := 1; i < len(objs.Content); i += 2 {
			obj := objs.Content[i]
			src := scalarAt(nodeAt(obj, "source"), "object")
			fields := nodeAt(obj, "fields")
			if fields == nil || fields.Kind != yaml.MappingNode || src == "" {
				continue
			}
			w.objects = append(w.objects, wideObject{connection: conn, source: src, fields: fields})
			if conn != fakesource.Salesforce {
				continue
			}
			for k := len(fields.Content) / 2; k < n; k++ {
				f := fmt.Sprintf("Wide_%02d__c", k+1)
				if !slices.Contains(w.custom[src], f) {
					w.custom[src] = append(w.custom[src], f)
				}
				if t := wideSFTypes[k%len(wideSFTypes)].sf; t != "string" {
					w.types[src+"."+f] = t
				}
			}
		}
	}
	return w, nil
}

// SimOptions gives the simulated org the custom fields the wide mapping
// reads, filled in every seeded record.
func (w *widening) SimOptions(o *fakesource.Options) {
	o.SalesforceCustomFields = maps.Clone(w.custom)
	o.SalesforceCustomFieldTypes = maps.Clone(w.types)
	o.SalesforceCustomFieldsFilled = true
}

// Set widens every object and compiles the mappings. The other systems'
// paths are those of the records a small simulator seeds, in the same
// shapes as any other's.
func (w *widening) Set() (*mapping.Set, error) {
	opts := fakesource.Options{Seed: 1, Records: 300}
	w.SimOptions(&opts)
	sim, err := fakesource.New(opts)
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	for _, o := range w.objects {
		var paths []string
		if o.connection != fakesource.Salesforce {
			obj := simObjectName(o.source)
			id, err := sim.SeedID(o.connection, obj, 0)
			if err != nil {
				return nil, fmt.Errorf("bench: a %s %s to widen its mapping from: %w", o.connection, o.source, err)
			}
			rec, err := sim.Record(o.connection, obj, id)
			if err != nil {
				return nil, err
			}
			paths = scalarPaths(rec, "")
			if len(paths) == 0 {
				return nil, fmt.Errorf("bench: %s %s has no scalar field to widen its mapping with", o.connection, o.source)
			}
		}
		for k := len(o.fields.Content) / 2; k < w.n; k++ {
			name := fmt.Sprintf("x_wide_%02d", k+1)
			source, typ := "", "string"
			if paths == nil {
				source, typ = fmt.Sprintf("Wide_%02d__c", k+1), wideSFTypes[k%len(wideSFTypes)].portal
			} else {
				source = paths[k%len(paths)]
			}
			o.fields.Content = append(o.fields.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: name},
				&yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
					{Kind: yaml.ScalarNode, Value: "source"}, {Kind: yaml.ScalarNode, Value: source},
					{Kind: yaml.ScalarNode, Value: "type"}, {Kind: yaml.ScalarNode, Value: typ},
				}})
		}
	}
	out := fstest.MapFS{}
	for name, doc := range w.files {
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		out[name] = &fstest.MapFile{Data: data}
	}
	set, err := mapping.Load(out)
	if err != nil {
		return nil, fmt.Errorf("bench: the wide mapping: %w", err)
	}
	return set, nil
}

// simObjectName is the simulator's name of a connector's object: Square's
// ITEM_VARIATION and inventory_count are its ItemVariation and
// InventoryCount.
func simObjectName(source string) string {
	if !strings.Contains(source, "_") || strings.HasSuffix(source, "__kav") {
		return source // Salesforce's and QuickBooks' names are the simulator's
	}
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(source), "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// scalarPaths lists a record's scalar fields, and those of its nested
// objects (dotted), sorted; lists are left out.
func scalarPaths(rec map[string]any, prefix string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(rec)) {
		switch v := rec[k].(type) {
		case map[string]any:
			if prefix == "" {
				out = append(out, scalarPaths(v, k+".")...)
			}
		case []any:
		default:
			if !strings.HasPrefix(k, "attributes") {
				out = append(out, prefix+k)
			}
		}
	}
	return out
}

// nodeAt is the value of key in a YAML mapping node, or nil.
func nodeAt(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalarAt is the scalar value of key in a YAML mapping node, or "".
func scalarAt(m *yaml.Node, key string) string {
	if n := nodeAt(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}
