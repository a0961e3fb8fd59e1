package mapping_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

func TestSourcePathsListWhatTheMappingsRead(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	sf := set.SourcePaths("salesforce")
	require.Contains(t, sf["Case"], "Account.Name", "relationship paths as written")
	require.Contains(t, sf["Case"], "SystemModstamp", "the version")
	require.Contains(t, sf["Case"], "ContactId", "the owner")
	require.NotContains(t, sf["Case"], "Portico_Action_Id__c", "what no mapping reads is not listed")
	require.Contains(t, sf["Account"], "QuickBooks_Customer_Id__c")
	require.Contains(t, sf["CaseComment"], "IsPublished", "the include filter")
	require.NotContains(t, sf, "Opportunity")
	acc := set.SourcePaths("accounting")
	require.Contains(t, acc["Invoice"], mapping.ReadsWholeRecord, "a transform reads record")
	require.Empty(t, set.SourcePaths("nowhere"))
}
