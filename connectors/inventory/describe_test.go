package inventory_test

import (
	"testing"

	"github.com/porticohq/portico/connectors/conntest"
)

// The built-in object shapes cover every member of every record the
// simulated seller serves, with the kind its JSON has, so the mapping
// check trusts what Square stores.
func TestDescribeCoversWhatTheSourceStores(t *testing.T) {
	t.Parallel()
	conntest.CheckBuiltinSchemas(t, Harness(), "CUSTOMER")
}
