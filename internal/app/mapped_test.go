package app_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// mappingsWith is a test copy of the shipped mappings with lines added to
// the case mapping's fields, after account_name.
func mappingsWith(t *testing.T, lines ...string) *mapping.Set {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, fs.WalkDir(mappings.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(mappings.FS(), path)
		if err != nil {
			return err
		}
		if path == "salesforce.yaml" {
			const anchor = "      account_name: Account.Name\n"
			require.Contains(t, string(b), anchor)
			b = []byte(strings.Replace(string(b), anchor, anchor+strings.Join(lines, "\n")+"\n", 1))
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o600)
	}))
	set, err := mapping.Load(os.DirFS(dir))
	require.NoError(t, err)
	return set
}

// customer is a customer's browser, logged in.
type customer struct{ *staff }

func loginCustomer(t *testing.T, r *running, account, contact string) *customer {
	t.Helper()
	const email, password = "mara@customer.test", "amber-meadow-compass-77"
	_, err := auth.CreateUser(context.Background(), r.app.Pool(), auth.NewUser{Email: email, Password: password,
		AccountID: account, ContactID: contact, Roles: []string{"member"}})
	require.NoError(t, err)
	return &customer{logIn(t, r.api, email, password)}
}

// caseFields is GET /api/v1/cases/{id}'s fields.
func (c *customer) caseFields(id string) map[string]any {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.api+"/api/v1/cases/"+id, nil)
	resp := checked(c.t, c.client, req, nil)
	defer resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	var rec struct {
		Fields map[string]any `json:"fields"`
	}
	require.NoError(c.t, json.NewDecoder(resp.Body).Decode(&rec))
	return rec.Fields
}

// casePage is the case's page, as the customer's browser gets it.
func (c *customer) casePage(id string) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.api+"/cases/"+id, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.client.Do(req) // a page: not in openapi.json
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return string(b)
}

// fact is how the case page shows a labelled value.
func fact(label, value string) string {
	return "<dt>" + html.EscapeString(label) + "</dt><dd>" + html.EscapeString(value) + "</dd>"
}

// Custom and relationship fields work with no Go change: a copy of the
// shipped mappings adds the org's custom field Region__c and the related
// owner's Owner.Email to cases (Account.Name is already mapped), and the
// API shows all three after the first pull and again after a targeted
// refresh (a staff edit's outbound message), which reads the same fields
// and so keeps the related values.
func TestMappedCustomAndRelationshipFieldsReachTheAPI(t *testing.T) {
	t.Parallel()
	var caseID, account string
	set := mappingsWith(t,
		"      x_region: {source: Region__c, type: string}",
		"      x_owner_email: {source: Owner.Email, type: string}")
	r := startWith(t, world{webhooks: true, interval: time.Hour, mappings: set,
		sim: func(o *fakesource.Options) { o.SalesforceCustomFields = map[string][]string{"Case": {"Region__c"}} },
		before: func(sim *fakesource.Sim) {
			var err error
			caseID, err = sim.SeedID(fakesource.Salesforce, "Case", 3)
			require.NoError(t, err)
			require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", caseID, map[string]any{"Region__c": "EMEA"}))
			rec, err := sim.Record(fakesource.Salesforce, "Case", caseID)
			require.NoError(t, err)
			account = rec["AccountId"].(string)
		}})
	acct, err := r.sim.Record(fakesource.Salesforce, "Account", account)
	require.NoError(t, err)
	c := loginCustomer(t, r, account, "")

	f := c.caseFields(caseID)
	require.Equal(t, "EMEA", f["x_region"], "after the pull")
	require.Equal(t, acct["Name"], f["account_name"], "after the pull")
	require.Contains(t, f["x_owner_email"], "@", "after the pull")
	page := c.casePage(caseID)
	require.Contains(t, page, fact("Region", "EMEA"), "the case page, after the pull")
	require.Contains(t, page, fact("Account", acct["Name"].(string)), "the case page, after the pull")

	require.NoError(t, r.sim.StaffEdit(fakesource.Salesforce, "Case", caseID, map[string]any{"Region__c": "APAC", "Subject": "Refreshed"}))
	require.Eventually(t, func() bool { return r.subject(t, caseID) == "Refreshed" }, 10*time.Second, 10*time.Millisecond, "the targeted refresh")
	f = c.caseFields(caseID)
	require.Equal(t, "APAC", f["x_region"], "after the refresh")
	require.Equal(t, acct["Name"], f["account_name"], "the refresh keeps the related record's field")
	require.Contains(t, f["x_owner_email"], "@", "after the refresh")
	page = c.casePage(caseID)
	require.Contains(t, page, fact("Region", "APAC"), "the case page, after the refresh")
	require.Contains(t, page, fact("Account", acct["Name"].(string)), "the case page keeps the related record's field after the refresh")
	require.Zero(t, r.sim.Stats().CallCount(fakesource.Salesforce, "GET sobjects/{Obj}/{Id}", 0), "refreshes query, they do not GET the sObject")
}

// An org without Portico's custom fields (no external id, no
// cross-references to the other systems) syncs with the shipped
// mappings, and a case a customer opens is created once, with the marker
// strategy.
func TestOrgWithoutPorticoFieldsSyncsAndCreates(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	r := startWith(t, world{interval: time.Hour, mappings: set,
		sim: func(o *fakesource.Options) { o.SalesforceWithoutPorticoFields = true }})
	contact, err := r.sim.SeedID(fakesource.Salesforce, "Contact", 0)
	require.NoError(t, err)
	crec, err := r.sim.Record(fakesource.Salesforce, "Contact", contact)
	require.NoError(t, err)
	c := loginCustomer(t, r, crec["AccountId"].(string), contact)

	before := r.sim.Stats().Records[fakesource.Salesforce]["Case"]
	body := []byte(`{"subject":"Printer jams again","description":"Tray 2."}`)
	req, _ := http.NewRequest(http.MethodPost, c.api+"/api/v1/cases", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "mara-1")
	req.Header.Set(auth.CSRFHeader, c.csrf)
	resp := checked(t, c.client, req, body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var state, detail string
	require.Eventually(t, func() bool {
		require.NoError(t, r.app.Pool().QueryRow(context.Background(),
			`SELECT state, coalesce(error_detail, '') FROM action ORDER BY id DESC LIMIT 1`).Scan(&state, &detail))
		return state != "pending" && state != "sending"
	}, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, "applied", state, detail)
	var target string
	require.NoError(t, r.app.Pool().QueryRow(context.Background(), `SELECT result_id FROM action ORDER BY id DESC LIMIT 1`).Scan(&target))
	rec, err := r.sim.Record(fakesource.Salesforce, "Case", target)
	require.NoError(t, err)
	require.Contains(t, rec["Description"], "Tray 2.")
	require.Contains(t, rec["Description"], "[portico:", "the create left its key in the marker field")
	require.Equal(t, before+1, r.sim.Stats().Records[fakesource.Salesforce]["Case"], "created once")
}
