package accounting_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

var names atomic.Int64

// unique makes display names unique: QuickBooks refuses duplicates (6240).
func unique(prefix string) string {
	return fmt.Sprintf("%s %d", prefix, names.Add(1))
}

func Harness() conntest.Harness {
	return conntest.Harness{
		System: fakesource.Accounting,
		Type:   "accounting",
		Connection: func(c fakesource.SystemCredentials) config.ConnectionConfig {
			return config.ConnectionConfig{BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, Realm: c.Realm, WebhookSecret: c.WebhookSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			return accounting.NewWithOptions(deps, accounting.Options{Now: now})
		},
		Pull: conntest.Object{Name: "Customer", Sim: "Customer"},
		CreateSim: func(_ *fakesource.Sim, i int) map[string]any {
			return map[string]any{"DisplayName": unique(fmt.Sprintf("Conformance customer %d", i))}
		},
		EditSim: func(i int) map[string]any {
			return map[string]any{"DisplayName": unique(fmt.Sprintf("Edited customer %d", i))}
		},
		Delete: conntest.Object{Name: "Invoice", Sim: "Invoice"},
		Write:  conntest.Object{Name: "Customer", Sim: "Customer"},
		WriteCreate: func(*fakesource.Sim) map[string]any {
			return map[string]any{"DisplayName": unique("Portal customer")}
		},
		WriteUpdate: map[string]any{"CompanyName": "Conformance Co"},
		Renews:      true,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, Harness())
}
