package salesforce_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

func Harness() conntest.Harness {
	seed := func(sim *fakesource.Sim, object string, i int) string {
		id, err := sim.SeedID(fakesource.Salesforce, object, i)
		if err != nil {
			panic(err)
		}
		return id
	}
	caseFields := func(sim *fakesource.Sim, i int) map[string]any {
		return map[string]any{
			"Subject": fmt.Sprintf("Conformance case %d", i), "Status": "New", "Origin": "Web", "Priority": "Medium",
			"AccountId": seed(sim, "Account", 0), "ContactId": seed(sim, "Contact", 0),
		}
	}
	return conntest.Harness{
		System: fakesource.Salesforce,
		Type:   "salesforce",
		Connection: func(c fakesource.SystemCredentials) config.ConnectionConfig {
			return config.ConnectionConfig{BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, Realm: c.Realm, WebhookSecret: c.WebhookSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			// A small query limit makes every pull of the suite's objects
			// span several queries, not only several batches: the
			// simulator's batches are 2000 records.
			return salesforce.NewWithOptions(deps, salesforce.Options{Now: now, QueryLimit: 40})
		},
		Pull:      conntest.Object{Name: "Case", Sim: "Case"},
		CreateSim: caseFields,
		EditSim: func(i int) map[string]any {
			return map[string]any{"Status": "Working", "Subject": fmt.Sprintf("Edited %d", i)}
		},
		Delete:      conntest.Object{Name: "Case", Sim: "Case"},
		Write:       conntest.Object{Name: "Case", Sim: "Case"},
		WriteCreate: func(sim *fakesource.Sim) map[string]any { return caseFields(sim, 99) },
		WriteUpdate: map[string]any{"Status": "Escalated"},
		Renews:      true,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, Harness())
}
