package store_test

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

// notYetConverted lists files that still talk to the driver directly. It
// only shrinks: each entry is a file to convert, not an exemption.
var notYetConverted = map[string]bool{}

// TestStorageBoundary keeps store the one place that runs generated queries
// and reads driver errors: no other file imports dbsqlc or names
// pgx.ErrNoRows or pgconn.PgError.
func TestStorageBoundary(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (rel == "internal/store" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || notYetConverted[rel] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, v := range violations(f) {
			t.Errorf("%s: %s; go through internal/store", rel, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range notYetConverted {
		if _, err := filepath.Abs(filepath.Join(root, rel)); err != nil {
			t.Errorf("allow-list: %s: %v", rel, err)
		}
	}
}

func violations(f *ast.File) []string {
	var out []string
	names := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if strings.HasSuffix(path, "/internal/store/dbsqlc") {
			out = append(out, "imports "+path)
		}
		name := filepath.Base(path)
		if strings.HasPrefix(path, "github.com/jackc/pgx/v5") && name == "v5" {
			name = "pgx"
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		names[name] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		s, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := s.X.(*ast.Ident)
		if !ok {
			return true
		}
		switch {
		case names[id.Name] == "github.com/jackc/pgx/v5" && s.Sel.Name == "ErrNoRows",
			names[id.Name] == "github.com/jackc/pgx/v5/pgconn" && s.Sel.Name == "PgError":
			out = append(out, "names "+id.Name+"."+s.Sel.Name)
		}
		return true
	})
	return out
}
