package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// simsConfig is a configuration whose connections salesforce, accounting
// and inventory are the simulators'.
func simsConfig(t *testing.T, opts fakesource.Options) string {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, opts)
	cr := sim.Credentials(srv.URL)
	conn := func(name, typ string, c fakesource.SystemCredentials) string {
		return fmt.Sprintf("  - name: %s\n    type: %s\n    base_url: %s\n    token_url: %s\n    client_id: %s\n    client_secret: %q\n    refresh_token: %s\n    realm: %q\n    access_token: %q\n",
			name, typ, c.BaseURL, c.TokenURL, c.ClientID, c.ClientSecret, c.RefreshToken, c.Realm, c.AccessToken)
	}
	return writeConfig(t, "connections:\n"+conn("salesforce", "salesforce", cr.Salesforce)+
		conn("accounting", "accounting", cr.Accounting)+conn("inventory", "inventory", cr.Inventory))
}

func TestMappingsCheckShippedAgainstSimulators(t *testing.T) {
	t.Parallel()
	cfg := simsConfig(t, fakesource.Options{Seed: 5, Records: 50})
	for _, conn := range []string{"salesforce", "accounting", "inventory"} {
		code, stdout, stderr := portico(t, "--config", cfg, "mappings", "check", "--connection", conn)
		require.Equal(t, exitOK, code, "%s: %s%s", conn, stdout, stderr)
		require.Contains(t, stdout, "match "+conn+"'s schema")
	}
}

// A mismatch fails the check (exit 1) with the mapping's file:line:col
// and the source's words, for each kind of source; an unknown connection
// is bad usage.
func TestMappingsCheckAgainstSourceFails(t *testing.T) {
	t.Parallel()
	cfg := simsConfig(t, fakesource.Options{Seed: 5, Records: 50})
	dir := t.TempDir()
	for name, edits := range map[string][2]string{
		"salesforce.yaml": {"values: {Low: low, Medium: medium, High: high}", "values: {Low: low, Medium: medium, High: high, Urgent: urgent}"},
		"accounting.yaml": {"quantity: SalesItemLineDetail.Qty", "quantity: SalesItemLineDetail.Qtty"},
		"inventory.yaml":  {"sku: item_variation_data.sku", "sku: item_variation_data.price_money"},
	} {
		b, err := readShipped(name)
		require.NoError(t, err)
		require.Contains(t, b, edits[0])
		writeFileIn(t, dir, name, strings.Replace(b, edits[0], edits[1], 1))
	}
	for conn, want := range map[string]string{
		"salesforce": dir + `/salesforce.yaml:73:56: Case.Priority is a picklist without value "Urgent" (values: Low, Medium, High)`,
		"accounting": dir + "/accounting.yaml:37:21: Invoice.Line[].SalesItemLineDetail.Qtty does not exist (did you mean Qty?)",
		"inventory":  dir + `/inventory.yaml:63:12: ITEM_VARIATION.item_variation_data.price_money is a Money object, which does not fit sku's portal type string: map one of its fields (a path through it), or add a transform`,
	} {
		code, stdout, stderr := portico(t, "--config", cfg, "mappings", "check", "--file", dir, "--connection", conn)
		require.Equal(t, exitFailed, code, "%s: %s%s", conn, stdout, stderr)
		require.Equal(t, want, strings.TrimSpace(stdout), conn)
		require.Contains(t, stderr, "1 problem(s) against "+conn+"'s schema")
	}
	code, _, stderr := portico(t, "--config", cfg, "mappings", "check", "--connection", "erp")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `unknown connection "erp"`)
}

// A scaffolded mapping compiles and matches the source's schema as
// written, for each kind of source; it maps the portal fields by name,
// relationship names, picklists and custom fields, with comments.
func TestMappingsScaffold(t *testing.T) {
	t.Parallel()
	cfg := simsConfig(t, fakesource.Options{Seed: 5, Records: 50, SalesforceCustomFields: map[string][]string{"Case": {"Region__c"}}})
	for _, tc := range []struct{ conn, object, as string }{
		{"salesforce", "Case", ""}, {"salesforce", "Contact", ""}, {"salesforce", "Account", ""},
		{"salesforce", "Quote", "approval_request"}, {"accounting", "Invoice", ""}, {"accounting", "Payment", ""},
		{"inventory", "order", ""}, {"inventory", "ITEM_VARIATION", "product"},
	} {
		dir := t.TempDir()
		file := dir + "/" + tc.object + ".yaml"
		args := []string{"--config", cfg, "mappings", "scaffold", "--connection", tc.conn, "--object", tc.object, "--out", file}
		if tc.as != "" {
			args = append(args, "--as", tc.as)
		}
		code, stdout, stderr := portico(t, args...)
		require.Equal(t, exitOK, code, "%s %s: %s%s", tc.conn, tc.object, stdout, stderr)
		code, stdout, stderr = portico(t, "--config", cfg, "mappings", "check", "--file", file, "--connection", tc.conn)
		b, _ := os.ReadFile(file)
		require.Equal(t, exitOK, code, "%s %s: %s%s\n%s", tc.conn, tc.object, stdout, stderr, b)
	}
	code, stdout, stderr := portico(t, "--config", cfg, "mappings", "scaffold", "--connection", "salesforce", "--object", "Case")
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{
		"subject: Subject  # string, required on create",
		"account_name: Account.Name  # the Name of the related Account (string)",
		"owner: {account: AccountId, contact: ContactId, hierarchy: true}",
		`values: {New: new, Working: working, Escalated: escalated, Waiting on Customer: waiting_on_customer, Closed: closed}`,
		"waiting_on_customer: {label: Waiting on customer, next_step: \"TODO: say what happens next.\"}",
		`x_region: {source: Region__c, type: string}  # string, "Region"`,
		"number: CaseNumber  # string, \"Case Number\", read-only",
		"id: Id  # id, \"ID\", read-only",
	} {
		require.Contains(t, stdout, want)
	}
	require.NotContains(t, stdout, "TODO: id")
	require.NotContains(t, stdout, "x_system_modstamp", "the sync's own fields are no custom fields")
	code, _, stderr = portico(t, "--config", cfg, "mappings", "scaffold", "--connection", "salesforce", "--object", "Opportunity")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "describe Opportunity: salesforce: GET /sobjects/Opportunity/describe: not found: NOT_FOUND")
}
