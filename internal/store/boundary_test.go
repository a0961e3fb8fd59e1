package store_test

import (
	"fmt"
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

// TestStorageBoundary keeps store the one place that runs queries and reads
// driver errors: no other file imports dbsqlc or names pgx.ErrNoRows or
// pgconn.PgError, and no other non-test file hands SQL text to the
// driver (Exec, Query, QueryRow, Batch.Queue), static or built there.
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
		found := violations(f)
		if !strings.HasSuffix(rel, "_test.go") {
			found = append(found, sqlCalls(fset, f)...)
		}
		for _, v := range found {
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

// sqlCalls lists the calls in f that hand SQL text to the driver: a method
// Exec, Query or QueryRow with a statement after the context, or Queue
// with one first. Which value it is does not matter: a literal, a constant
// or a string built in the package all put SQL outside store. (Methods of
// those names with fewer arguments, such as url.URL.Query, are not
// driver calls.)
func sqlCalls(fset *token.FileSet, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		switch name := sel.Sel.Name; {
		case (name == "Exec" || name == "Query" || name == "QueryRow") && len(call.Args) >= 2,
			name == "Queue" && len(call.Args) >= 1:
			out = append(out, fmt.Sprintf("line %d runs SQL with %s", fset.Position(call.Pos()).Line, name))
		}
		return true
	})
	return out
}

// TestSQLCallsFindsSQLOutsideStore checks the check: it must see a literal,
// a constant and a built statement, and leave url.Query alone.
func TestSQLCallsFindsSQLOutsideStore(t *testing.T) {
	t.Parallel()
	const src = `package p
const q = "SELECT 1"
func f(ctx context.Context, db DB, b *pgx.Batch, id string, u *url.URL) {
	db.Exec(ctx, "DELETE FROM record")
	db.QueryRow(ctx, q).Scan()
	rows, _ := db.Query(ctx, "SELECT * FROM t WHERE id = " + id)
	b.Queue(q)
	_ = u.Query().Get("x")
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	got := sqlCalls(fset, f)
	want := []string{"line 4 runs SQL with Exec", "line 5 runs SQL with QueryRow", "line 6 runs SQL with Query", "line 7 runs SQL with Queue"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sqlCalls found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
