package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FuzzParse feeds arbitrary bytes to the mapping compiler: it must answer
// with an error or a set, never panic, and a set it accepts must map and
// describe records without panicking either.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"../../mappings", "testdata/broken"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// One small file per object: the fuzzer minimises every input
			// that finds new code, and that is slow on whole files.
			var doc struct {
				Connection string               `yaml:"connection"`
				Objects    map[string]yaml.Node `yaml:"objects"`
			}
			if yaml.Unmarshal(b, &doc) != nil || len(doc.Objects) == 0 {
				f.Add(b)
				continue
			}
			for name, obj := range doc.Objects {
				one, err := yaml.Marshal(map[string]any{"version": 1, "connection": doc.Connection, "objects": map[string]any{name: &obj}})
				if err == nil {
					f.Add(one)
				}
			}
		}
	}
	f.Add([]byte("version: 1\nobjects: {}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse("fuzz.yaml", data)
		if err != nil {
			var errs Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					if e.Line < 1 || e.Col < 1 || e.Msg == "" {
						t.Fatalf("error without position or reason: %+v", e)
					}
				}
			}
			return
		}
		for _, o := range set.Objects() {
			_, _ = o.ToPortal([]byte(`{"Id":"1","id":"1","Status":"New","Account":{"Name":"A"},"Line":[{"Amount":1}]}`))
			for _, op := range []Op{OpCreate, OpUpdate} {
				if s := o.IntakeSchema(op); s != nil && !json.Valid(s) {
					t.Fatalf("invalid schema for %s %s", o.Name(), op)
				}
				_, _ = o.ToSource(op, map[string]any{"subject": "x", "status": "closed"}, Actor{})
			}
		}
	})
}

// FuzzEval compiles a field transform from arbitrary text and runs it on
// arbitrary record bytes. It also holds the one-pass scanner to the
// standard library: whatever encoding/json accepts, the scanner decodes
// to the same values.
func FuzzEval(f *testing.F) {
	seeds := []struct{ expr, rec string }{
		{"value", `{"id":"1","v":"x"}`},
		{"double(value) / 100.0", `{"id":"1","v":2599}`},
		{"value == null ? 'unknown' : value.lowerAscii()", `{"id":"1","v":"WEB"}`},
		{"record.v + ':' + record.id", `{"id":"1","v":"a"}`},
		{"value.filter(l, l.t == 'S').map(l, l.a)", `{"id":"1","v":[{"t":"S","a":1},{"t":"X"}]}`},
		{"[1,2,3].map(x, [x, x]).flatten()", `{"id":"1","v":{"a":{"b":[true,false,null]}}}`},
		{"value.size() > 3 ? value[0] : null", `{"id":"1","v":"\u00e9\ud83d\ude00\\\"\n"}`},
		{"lists.range(1000).map(x, lists.range(1000)).size()", `{"id":"1","v":1e400}`},
		{"int(value) * 9223372036854775807", `{"id":"1","v":-0.5e-3}`},
	}
	for _, s := range seeds {
		f.Add(s.expr, []byte(s.rec))
	}
	f.Fuzz(func(t *testing.T, expr string, rec []byte) {
		checkScanner(t, rec)
		doc := map[string]any{
			"version": 1, "connection": "fuzz",
			"objects": map[string]any{"product": map[string]any{
				"source":    map[string]any{"object": "P", "key": "id"},
				"freshness": "1h",
				"roles":     []string{"member"},
				"fields": map[string]any{
					"id":   "id",
					"name": map[string]any{"source": "v", "transform": expr},
					"x_n":  map[string]any{"source": "v.a.b", "type": "string"},
				},
			}},
		}
		src, err := yaml.Marshal(doc)
		if err != nil {
			return
		}
		set, err := Parse("fuzz.yaml", src)
		if err != nil {
			return
		}
		o, _ := set.Object("product")
		_, _ = o.ToPortal(rec)
	})
}

func checkScanner(t *testing.T, rec []byte) {
	var want map[string]any
	if !utf8.Valid(rec) || json.Unmarshal(rec, &want) != nil || want == nil {
		return
	}
	got, err := parseRecord(string(rec))
	if err != nil {
		t.Fatalf("scanner rejects what encoding/json accepts: %v\n%q", err, rec)
	}
	if !reflect.DeepEqual(normalize(want), normalize(got)) {
		t.Fatalf("scanner disagrees with encoding/json on %q:\n%#v\n%#v", rec, want, got)
	}
	// The trie scan must agree with the full parse on every top-level and
	// second-level path.
	tr := newTrie()
	var paths [][]string
	for k, v := range got {
		paths = append(paths, []string{k})
		if m, ok := v.(map[string]any); ok {
			for k2 := range m {
				paths = append(paths, []string{k, k2})
			}
		}
	}
	for i, p := range paths {
		tr.add(p, i)
	}
	vals := make([]any, len(paths))
	if err := scanRecord(string(rec), tr, vals); err != nil {
		t.Fatalf("trie scan fails where the full parse succeeds: %v", err)
	}
	for i, p := range paths {
		if !reflect.DeepEqual(normalize(lookup(got, p)), normalize(vals[i])) {
			t.Fatalf("path %v: trie scan %#v, full parse %#v", p, vals[i], lookup(got, p))
		}
	}
}

// normalize makes numbers comparable: encoding/json decodes every number
// as float64, the scanner keeps integers as int64.
func normalize(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}
