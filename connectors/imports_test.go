package connectors_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContractImportsNothingOfPortico: the contract is public and a
// connector written outside this module implements it, so it must not
// depend on Portico's internals (its config in particular): a connector
// gets what it needs as connectors.Connection.
func TestContractImportsNothingOfPortico(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			require.False(t, strings.HasPrefix(path, "github.com/porticohq/portico/"), "%s imports %s", f, path)
		}
	}
}

// TestConnectorToolkitImportsNoInternals: what a connector written outside
// this module builds on (the shared HTTP client, the wire helpers, the
// conformance suite) is public too, so it takes its settings as its own
// small structs (httpclient.Settings) and never Portico's config or any
// other internal package.
func TestConnectorToolkitImportsNoInternals(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"httpclient", "wire", "conntest"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				require.False(t, strings.HasPrefix(path, "github.com/porticohq/portico/internal/"), "%s imports %s", f, path)
			}
		}
	}
}
