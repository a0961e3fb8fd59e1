package writeback

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// TestEveryKindIsOfferedByTheShippedMappings: each action kind names a
// portal object and operation the shipped mappings allow, with an intake
// schema for the API to publish.
func TestEveryKindIsOfferedByTheShippedMappings(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	for _, k := range Kinds() {
		object, op, ok := k.spec()
		require.True(t, ok, k)
		obj, ok := objectFor(set, object, op, func(string) bool { return true })
		require.True(t, ok, "%s: no mapping allows %s of %s", k, op, object)
		require.NotEmpty(t, obj.IntakeSchema(op), k)
	}
	_, _, ok := Kind("nope").spec()
	require.False(t, ok)
	_, ok = objectFor(set, "document", mapping.OpCreate, func(c string) bool { return c == "accounting" })
	require.True(t, ok, "invoice attachments go to accounting")
	_, ok = objectFor(set, "document", mapping.OpCreate, func(c string) bool { return c == "inventory" })
	require.False(t, ok, "the commerce system takes no files")
}
