package reply_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// notHandlers are the trees that answer HTTP in other systems' wire
// formats or measure the router bare, not Portico's JSON surfaces.
var notHandlers = []string{
	"internal/reply/",      // this package
	"internal/fakesource/", // the simulated sources speak their vendors' JSON
	"cmd/fakesource/",
}

// TestOnlyReplyWritesJSON fails when code outside this package encodes
// JSON onto an http.ResponseWriter (json.NewEncoder(w)), sets a JSON
// Content-Type on a response, or defines its own writeJSON: such copies
// are how the error shape and the 5xx logging drift apart. A benchmark's
// bare-router yardstick (files and folders named bench*) is exempt, since
// it must not include the work it is measured against.
func TestOnlyReplyWritesJSON(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || exempt(rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || exempt(rel) {
			return nil
		}
		hits, err := jsonWrites(path)
		for _, h := range hits {
			found = append(found, rel+":"+h)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s: answer through internal/reply instead", f)
	}
}

func exempt(rel string) bool {
	for _, p := range notHandlers {
		if strings.HasPrefix(rel, p) {
			return true
		}
	}
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, "bench") {
			return true
		}
	}
	return false
}

// jsonWrites lists, as "line: what", the places in one file that write
// JSON to a response themselves.
func jsonWrites(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var hits []string
	hit := func(n ast.Node, what string) {
		hits = append(hits, strconv.Itoa(fset.Position(n.Pos()).Line)+": "+what)
	}
	var walk func(n ast.Node, writers map[string]bool)
	walk = func(n ast.Node, writers map[string]bool) {
		ast.Inspect(n, func(c ast.Node) bool {
			switch c := c.(type) {
			case *ast.FuncDecl:
				if strings.EqualFold(c.Name.Name, "writeJSON") {
					hit(c, "defines "+c.Name.Name)
				}
				if c != n && c.Body != nil {
					walk(c.Body, withWriters(writers, c.Type))
					return false
				}
			case *ast.FuncLit:
				if c != n {
					walk(c.Body, withWriters(writers, c.Type))
					return false
				}
			case *ast.CallExpr:
				if isSel(c.Fun, "json", "NewEncoder") && len(c.Args) == 1 {
					if id, ok := c.Args[0].(*ast.Ident); ok && writers[id.Name] {
						hit(c, "json.NewEncoder("+id.Name+")")
					}
				}
				if setsJSONContentType(c) {
					hit(c, "sets Content-Type: application/json")
				}
			}
			return true
		})
	}
	walk(f, map[string]bool{})
	return hits, nil
}

// withWriters adds the parameters of type http.ResponseWriter to the
// names in scope.
func withWriters(outer map[string]bool, ft *ast.FuncType) map[string]bool {
	inner := map[string]bool{}
	for k := range outer {
		inner[k] = true
	}
	if ft.Params == nil {
		return inner
	}
	for _, p := range ft.Params.List {
		if !isSel(p.Type, "http", "ResponseWriter") {
			continue
		}
		for _, n := range p.Names {
			inner[n.Name] = true
		}
	}
	return inner
}

// setsJSONContentType matches x.Header().Set("Content-Type",
// "application/json..."): Header() as a method is a response's.
func setsJSONContentType(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Set" || len(c.Args) != 2 {
		return false
	}
	hdr, ok := sel.X.(*ast.CallExpr)
	if !ok || len(hdr.Args) != 0 {
		return false
	}
	if hs, ok := hdr.Fun.(*ast.SelectorExpr); !ok || hs.Sel.Name != "Header" {
		return false
	}
	return strings.EqualFold(stringLit(c.Args[0]), "Content-Type") && strings.HasPrefix(stringLit(c.Args[1]), "application/json")
}

func stringLit(e ast.Expr) string {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return ""
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return ""
	}
	return s
}

func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}
