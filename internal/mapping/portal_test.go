package mapping_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// Every recorded source payload maps to the reviewed portal record in
// testdata/golden (go test -update rewrites them; review the diff).
func TestToPortalGolden(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	files, err := filepath.Glob("testdata/records/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			conn, obj, _ := strings.Cut(base, "_")
			o, ok := set.BySource(conn, obj)
			require.True(t, ok)
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			m, err := o.ToPortal(raw)
			require.NoError(t, err)
			require.Empty(t, m.Problems)
			require.Equal(t, o.Hash(), m.Hash)
			got, err := json.MarshalIndent(m, "", "  ")
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", base+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got))
		})
	}
}

func TestToPortalOddValuesBecomeProblemsNotFailures(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	o, _ := set.For("salesforce", "case")
	m, err := o.ToPortal([]byte(`{"Id":"500X","CaseNumber":7,"Status":"Frozen","Priority":null,"CreatedDate":"yesterday","Account":null}`))
	require.NoError(t, err)
	require.Equal(t, "7", m.Fields["number"])
	require.Equal(t, "medium", m.Fields["priority"], "the default fills a missing value")
	require.Nil(t, m.Fields["created_at"])
	require.Nil(t, m.Fields["account_name"])
	require.Equal(t, "Frozen", m.Status, "an unmapped status passes through")
	require.Equal(t, "Frozen", m.StatusLabel)
	require.Equal(t, []mapping.FieldError{
		{Path: "status", Code: mapping.ProblemUnmapped, Message: `source value "Frozen" has no portal value`},
		{Path: "created_at", Code: mapping.CodeType, Message: "yesterday is not a date and time (RFC 3339)"},
	}, m.Problems)

	for _, bad := range []string{``, `[]`, `{"Id":`, `{"Id":"1"} x`, `{"CaseNumber":"1"}`} {
		_, err := o.ToPortal([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestIntakeSchema(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	o, _ := set.For("salesforce", "case")
	var s map[string]any
	require.NoError(t, json.Unmarshal(o.IntakeSchema(mapping.OpCreate), &s))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", s["$schema"])
	require.Equal(t, false, s["additionalProperties"])
	require.Equal(t, []any{"subject"}, s["required"])
	props := s["properties"].(map[string]any)
	require.ElementsMatch(t, []string{"subject", "description", "priority", "type"}, keys(props))
	require.Equal(t, map[string]any{"type": "string", "maxLength": 255.0, "minLength": 1.0, "description": "one-line summary"}, props["subject"])
	require.Equal(t, []any{"low", "medium", "high", nil}, props["priority"].(map[string]any)["enum"])
	require.Equal(t, "medium", props["priority"].(map[string]any)["default"])

	require.NoError(t, json.Unmarshal(o.IntakeSchema(mapping.OpUpdate), &s))
	require.Equal(t, 1.0, s["minProperties"])
	require.ElementsMatch(t, []string{"status"}, keys(s["properties"].(map[string]any)))

	p, _ := set.For("inventory", "product")
	require.Nil(t, p.IntakeSchema(mapping.OpCreate), "products are read-only")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Changing a mapping's meaning changes its hash and re-maps stored
// records; comments, layout and key order do not.
func TestHashAndRemap(t *testing.T) {
	t.Parallel()
	base := `version: 1
connection: inventory
objects:
  product:
    source: {object: ITEM_VARIATION, key: id}
    freshness: 1h
    roles: [member]
    fields:
      id: id
      name: item_variation_data.name
`
	reordered := `# products
version: 1
connection: inventory
objects:
  product:
    roles: [member]   # who sees it
    freshness: 1h
    source: {key: id, object: ITEM_VARIATION}
    fields: {name: item_variation_data.name, id: id}
`
	changed := strings.Replace(base, "name: item_variation_data.name", "name: {source: item_variation_data.name, transform: value.upperAscii()}", 1)
	load := func(src string) *mapping.Object {
		set, err := mapping.Parse("p.yaml", []byte(src))
		require.NoError(t, err)
		o, _ := set.Object("product")
		return o
	}
	a, b, c := load(base), load(reordered), load(changed)
	require.Equal(t, a.Hash(), b.Hash())
	require.NotEqual(t, a.Hash(), c.Hash())

	raw := []byte(`{"id":"V1","item_variation_data":{"name":"toner"}}`)
	stored, err := a.ToPortal(raw)
	require.NoError(t, err)
	m, changedNow, err := b.Remap(raw, stored.Hash)
	require.NoError(t, err)
	require.False(t, changedNow)
	require.Nil(t, m)
	m, changedNow, err = c.Remap(raw, stored.Hash)
	require.NoError(t, err)
	require.True(t, changedNow)
	require.Equal(t, "TONER", m.Fields["name"])
	require.Equal(t, c.Hash(), m.Hash)

	set, err := mapping.Parse("p.yaml", []byte(changed))
	require.NoError(t, err)
	_, _, err = set.Remap(mapping.Stored{Connection: "inventory", SourceObject: "order", Raw: raw})
	require.ErrorContains(t, err, "no mapping for inventory.order")
	require.Len(t, set.Stale(map[[2]string]string{{"inventory", "ITEM_VARIATION"}: a.Hash()}), 1)
	require.Empty(t, set.Stale(map[[2]string]string{{"inventory", "ITEM_VARIATION"}: c.Hash()}))
}

func TestSameObjectFromTwoConnections(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	sf, ok := set.For("salesforce", "document")
	require.True(t, ok)
	qb, ok := set.For("accounting", "document")
	require.True(t, ok)
	require.NotEqual(t, sf.SourceObject(), qb.SourceObject())

	// The same portal object twice from one connection clashes.
	doc := `version: 1
connection: salesforce
objects:
  knowledge_article:
    source: {object: Knowledge__kav, key: Id}
    freshness: 1h
    roles: [member]
    fields: {id: Id, title: Title}
`
	_, err := mapping.LoadFiles(writeTemp(t, "a.yaml", doc), writeTemp(t, "b.yaml", doc))
	require.ErrorContains(t, err, "b.yaml:4:3: knowledge_article from connection \"salesforce\" is already mapped at ")
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// One compiled mapping serves every sync worker at once.
func TestToPortalConcurrently(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	o, _ := set.For("salesforce", "case")
	raw := record(t, "salesforce_Case", nil)
	want, err := o.ToPortal(raw)
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 200 {
				m, err := o.ToPortal(raw)
				if err == nil && m.Fields["subject"] != want.Fields["subject"] {
					err = fmt.Errorf("got %v", m.Fields["subject"])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
