package mapping_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

func loadShipped(t testing.TB) *mapping.Set {
	t.Helper()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	return set
}

func TestShippedMappingsCompile(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	want := map[string][]string{
		"salesforce": {"account", "contact", "case", "case_comment", "knowledge_article", "document", "approval_request"},
		"accounting": {"invoice", "payment", "document"},
		"inventory":  {"order", "product", "stock_level"},
	}
	for conn, objs := range want {
		for _, name := range objs {
			o, ok := set.For(conn, name)
			require.True(t, ok, "%s from %s", name, conn)
			require.Len(t, o.Hash(), 16)
			require.Positive(t, o.Freshness())
		}
	}
	// Every top-level portal object is covered by some shipped mapping.
	for _, def := range mapping.Model() {
		if def.Embedded {
			continue
		}
		_, ok := set.Object(def.Name)
		require.True(t, ok, "no shipped mapping for %s", def.Name)
	}
}

// mappings/README.md documents the model; it must not drift from the code.
func TestReadmeDocumentsTheModel(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../mappings/README.md")
	require.NoError(t, err)
	require.True(t, strings.Contains(string(b), strings.TrimSpace(mapping.ModelMarkdown())),
		"mappings/README.md's model section is out of date: paste mapping.ModelMarkdown() into it")
}

// OwnsThrough decides which pages must give children their owner (and so
// take the parent object's owner lock).
func TestOwnsThroughNamesParentObjects(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	require.True(t, set.OwnsThrough("salesforce", "case"), "comments are owned through their case")
	require.True(t, set.OwnsThrough("accounting", "invoice"), "attachments are owned through their invoice")
	require.True(t, set.OwnsThrough("salesforce", "approval_request"), "quote lines are owned through their quote")
	require.False(t, set.OwnsThrough("salesforce", "contact"))
	require.False(t, set.OwnsThrough("salesforce", "invoice"), "only within one connection")
}
