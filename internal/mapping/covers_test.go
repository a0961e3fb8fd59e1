package mapping_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

func TestCoversComparesWhatRolesReach(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	for _, role := range mapping.Roles() {
		require.True(t, set.Covers([]string{role}, role), "a role covers itself: %s", role)
		require.True(t, set.Covers([]string{mapping.RoleAccountAdmin}, role), "an account admin sees every object: %s", role)
	}
	// Billing sees invoices, which a member does not; a member sees
	// cases, which billing and purchasing do not.
	require.False(t, set.Covers([]string{mapping.RoleMember}, mapping.RoleBilling))
	require.False(t, set.Covers([]string{mapping.RoleBilling, mapping.RolePurchasing}, mapping.RoleMember))
	require.False(t, set.Covers(nil, mapping.RoleMember))

	// A field narrowed to one role: holding the object's other roles is
	// not enough.
	narrow, err := mapping.Parse("narrow.yaml", []byte(`connection: crm
objects:
  knowledge_article:
    source: {object: KA, key: Id, version: V, modified: M}
    freshness: 60s
    roles: [member, billing]
    fields:
      id: Id
      title: {source: Title, roles: [billing]}
`))
	require.NoError(t, err)
	require.False(t, narrow.Covers([]string{mapping.RoleMember}, mapping.RoleBilling))
	require.True(t, narrow.Covers([]string{mapping.RoleBilling}, mapping.RoleMember))
}
