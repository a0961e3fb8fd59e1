package accounting_test

import (
	"testing"

	"github.com/porticohq/portico/connectors/conntest"
)

// The built-in entity metadata covers every member of every record the
// simulated company serves, with the kind its JSON has, so the mapping
// check trusts what QuickBooks stores.
func TestDescribeCoversWhatTheSourceStores(t *testing.T) {
	t.Parallel()
	conntest.CheckBuiltinSchemas(t, Harness(), "Vendor")
}
