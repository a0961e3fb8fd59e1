package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

func TestConnectorsCheck(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 300})
	cr := sim.Credentials(srv.URL)
	conn := func(name, typ string, c fakesource.SystemCredentials, secret string) string {
		return fmt.Sprintf("  - name: %s\n    type: %s\n    base_url: %s\n    token_url: %s\n    client_id: %s\n    client_secret: %q\n    refresh_token: %s\n    realm: %q\n    access_token: %q\n",
			name, typ, c.BaseURL, c.TokenURL, c.ClientID, secret, c.RefreshToken, c.Realm, c.AccessToken)
	}
	file := writeConfig(t, "connections:\n"+
		conn("crm", "salesforce", cr.Salesforce, cr.Salesforce.ClientSecret)+
		conn("books", "accounting", cr.Accounting, cr.Accounting.ClientSecret)+
		conn("shop", "inventory", cr.Inventory, cr.Inventory.ClientSecret)+
		conn("crm-bad", "salesforce", cr.Salesforce, "not-the-secret"))

	for _, name := range []string{"crm", "books", "shop"} {
		code, stdout, stderr := portico(t, "--config", file, "connectors", "check", "--connection", name)
		require.Equal(t, exitOK, code, "%s: %s%s", name, stdout, stderr)
		require.Contains(t, stdout, "breaker: closed")
		require.Contains(t, stdout, "quota remaining:")
		require.NotContains(t, stdout, "FAIL")
	}
	code, stdout, _ := portico(t, "--config", file, "connectors", "check", "--connection", "crm")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "Case ")
	require.Contains(t, stdout, "records on the first page")

	code, stdout, stderr := portico(t, "--config", file, "connectors", "check", "--connection", "crm-bad")
	require.Equal(t, exitFailed, code, stdout)
	require.Contains(t, stderr, "invalid_client: invalid client credentials", "the vendor's own message")
	require.Contains(t, stdout, "FAIL")

	code, _, stderr = portico(t, "--config", file, "connectors", "check", "--connection", "nope")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `unknown connection "nope"`)

	// Without --connection every configured connection is checked, and
	// one failure fails the whole check.
	code, stdout, stderr = portico(t, "--config", file, "connectors", "check")
	require.Equal(t, exitFailed, code, stdout)
	for _, name := range []string{"crm", "books", "shop", "crm-bad"} {
		require.Contains(t, stdout, "connection "+name+" (")
	}
	require.Contains(t, stderr, "invalid_client")
	good := writeConfig(t, "connections:\n"+conn("crm", "salesforce", cr.Salesforce, cr.Salesforce.ClientSecret)+
		conn("shop", "inventory", cr.Inventory, cr.Inventory.ClientSecret))
	code, stdout, stderr = portico(t, "--config", good, "connectors", "check")
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, "connection crm (")
	require.Contains(t, stdout, "connection shop (")
	require.Contains(t, stdout, "creates upsert by the external-id field Portico_Action_Id__c")
	code, _, stderr = portico(t, "--config", writeConfig(t, "connections: []\n"), "connectors", "check")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no connections are configured")
}

// An org without Portico's custom fields passes the check, which says
// what is missing, how to add it, and which weaker strategy creates use
// until then; and a mapped field the org lacks is named.
func TestConnectorsCheckNamesWhatTheOrgLacks(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 300, SalesforceWithoutPorticoFields: true})
	c := sim.Credentials(srv.URL).Salesforce
	file := writeConfig(t, fmt.Sprintf("connections:\n  - name: salesforce\n    type: salesforce\n    base_url: %s\n    token_url: %s\n    client_id: %s\n    client_secret: %q\n    refresh_token: %s\n",
		c.BaseURL, c.TokenURL, c.ClientID, c.ClientSecret, c.RefreshToken))
	code, stdout, stderr := portico(t, "--config", file, "connectors", "check")
	require.Equal(t, exitOK, code, stdout+stderr)
	require.NotContains(t, stdout, "FAIL")
	require.Contains(t, stdout, "the org lacks the external-id field Case.Portico_Action_Id__c")
	require.Contains(t, stdout, "tick Unique and External ID")
	require.Contains(t, stdout, "weaker marker strategy")
	require.Contains(t, stdout, "Case.Description")
	require.Contains(t, stdout, "the org lacks QuickBooks_Customer_Id__c, Square_Customer_Id__c, which the mappings read", "the shipped account mapping reads them")
}

func TestBenchConnectorsLastLineIsJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "bench", "connectors", "--records", "3000", "--rounds", "1")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig struct {
		Bench      string                    `json:"bench"`
		Records    int                       `json:"records"`
		Ratio      float64                   `json:"ratio"`
		Connectors map[string]map[string]any `json:"connectors"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout)
	require.Equal(t, "connectors", fig.Bench)
	require.Positive(t, fig.Records)
	require.Positive(t, fig.Ratio)
	require.Len(t, fig.Connectors, 3)

	code, _, _ = portico(t, "bench", "connectors", "--connector", "erp")
	require.Equal(t, exitUsage, code)

	// The cost of wider selects: the shipped case mapping's paths and 60.
	for _, sel := range []string{"shipped", "60"} {
		code, stdout, stderr = portico(t, "bench", "connectors", "--connector", "salesforce", "--records", "3000", "--rounds", "1", "--select", sel)
		require.Equal(t, exitOK, code, stderr)
		lines = strings.Split(strings.TrimSpace(stdout), "\n")
		var wide map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &wide), stdout)
		require.Equal(t, sel, wide["select"])
		sf := wide["connectors"].(map[string]any)["salesforce"].(map[string]any)
		require.Equal(t, "Case", sf["object"])
		if sel == "60" {
			require.GreaterOrEqual(t, sf["selected_paths"], 60.0, "60 fields, and the stamps sync reads")
		} else {
			require.Less(t, sf["selected_paths"], 60.0, "the shipped case mapping reads fewer")
		}
		require.Positive(t, wide["ratio"])
	}
	code, _, _ = portico(t, "bench", "connectors", "--select", "all")
	require.Equal(t, exitUsage, code)
}
