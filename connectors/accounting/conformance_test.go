package accounting_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/conntest/fakesim"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
)

var names atomic.Int64

// unique makes display names unique: QuickBooks refuses duplicates (6240).
func unique(prefix string) string {
	return fmt.Sprintf("%s %d", prefix, names.Add(1))
}

func Harness() conntest.Harness {
	return conntest.Harness{
		Type: "accounting",
		Connection: func(src conntest.Source, url string) connectors.Connection {
			c := fakesim.Of(src).Credentials(url)
			return connectors.Connection{BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, Realm: c.Realm, WebhookSecret: c.WebhookSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			return accounting.NewWithOptions(deps, accounting.Options{Tuning: wire.Tuning{Now: now}})
		},
		Pull: conntest.Object{Name: "Customer", Sim: "Customer"},
		CreateSim: func(_ conntest.Source, i int) map[string]any {
			return map[string]any{"DisplayName": unique(fmt.Sprintf("Conformance customer %d", i))}
		},
		EditSim: func(i int) map[string]any {
			return map[string]any{"DisplayName": unique(fmt.Sprintf("Edited customer %d", i))}
		},
		Delete: conntest.Object{Name: "Invoice", Sim: "Invoice"},
		Write:  conntest.Object{Name: "Customer", Sim: "Customer"},
		WriteCreate: func(conntest.Source) map[string]any {
			return map[string]any{"DisplayName": unique("Portal customer")}
		},
		WriteUpdate: map[string]any{"CompanyName": "Conformance Co"},
		Renews:      true,
		Source:      fakesim.Start(fakesource.Accounting, 0),
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, Harness())
}
