package mapping

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestModelIsWellFormed: the compiled-in model.yaml decodes, every field
// has a known type and a doc, and a list names an object of the model; a
// model.yaml that breaks any of these is refused with the object and field.
func TestModelIsWellFormed(t *testing.T) {
	t.Parallel()
	objs, err := model()
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	a, b := Model(), Model()
	a[0].Fields[0].Name = "changed"
	require.NotEqual(t, "changed", b[0].Fields[0].Name, "each call is a fresh copy")

	for yml, want := range map[string]string{
		"- {name: x, doc: d, fields: [{name: f, type: nope, doc: d}]}":                    `x.f needs a name, a doc and a known type (got "nope")`,
		"- {name: x, doc: d, fields: [{name: f, type: list, of: ghost, doc: d}]}":         "x.f: of names an object of the model",
		"- {name: x, doc: d, fields: [{name: f, type: string, doc: d, extra: 1}]}":        "field extra not found",
		"- {name: x, doc: d, fields: []}":                                                 `object "x" needs a name, a doc and fields`,
		"- {name: x, doc: d, fields: [{name: f, type: string, of: x, doc: d}]}":           "x.f: of names an object of the model, on a list field",
		"- {name: x, doc: d, fields: [{name: f, type: list, of: x, doc: d}]}\n- {name: y": "model.yaml",
	} {
		_, err := parseModel([]byte(yml))
		require.ErrorContains(t, err, want, yml)
	}
}
