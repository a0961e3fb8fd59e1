package salesforce_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/conntest/fakesim"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
)

func Harness() conntest.Harness {
	seed := func(src conntest.Source, object string, i int) string {
		return fakesim.Of(src).SeedID(object, i)
	}
	caseFields := func(src conntest.Source, i int) map[string]any {
		return map[string]any{
			"Subject": fmt.Sprintf("Conformance case %d", i), "Status": "New", "Origin": "Web", "Priority": "Medium",
			"AccountId": seed(src, "Account", 0), "ContactId": seed(src, "Contact", 0),
		}
	}
	return conntest.Harness{
		Type: "salesforce",
		Connection: func(src conntest.Source, url string) connectors.Connection {
			c := fakesim.Of(src).Credentials(url)
			return connectors.Connection{BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, Realm: c.Realm, WebhookSecret: c.WebhookSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			// A small query limit makes every pull of the suite's objects
			// span several queries, not only several batches: the
			// simulator's batches are 2000 records.
			return salesforce.NewWithOptions(deps, salesforce.Options{Tuning: wire.Tuning{Now: now}, QueryLimit: 40})
		},
		Pull:      conntest.Object{Name: "Case", Sim: "Case"},
		CreateSim: caseFields,
		EditSim: func(i int) map[string]any {
			return map[string]any{"Status": "Working", "Subject": fmt.Sprintf("Edited %d", i)}
		},
		Delete:      conntest.Object{Name: "Case", Sim: "Case"},
		Write:       conntest.Object{Name: "Case", Sim: "Case"},
		WriteCreate: func(src conntest.Source) map[string]any { return caseFields(src, 99) },
		WriteUpdate: map[string]any{"Status": "Escalated"},
		Renews:      true,
		Source:      fakesim.Start(fakesource.Salesforce, 0),
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, Harness())
}
