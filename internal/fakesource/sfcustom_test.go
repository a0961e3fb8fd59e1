package fakesource_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

// An org with an extra custom field stores it from writes and staff edits,
// answers it in queries beside relationship fields in Salesforce's nested
// shape, and lists it in describe.
func TestSalesforceCustomFieldsAndRelationships(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.SalesforceCustomFields = map[string][]string{"Case": {"Region__c"}} })
	c := e.sf()
	id := mustSeed(t, e, "Case", 1)
	require.NoError(t, e.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Region__c": "EMEA"}))
	code, _, body := c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(
		"SELECT Id, Region__c, Account.Name, Owner.Email FROM Case WHERE Id = '"+id+"'"), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	rec := decode(t, body)["records"].([]any)[0].(map[string]any)
	require.Equal(t, "EMEA", rec["Region__c"])
	acct := rec["Account"].(map[string]any)
	require.NotEmpty(t, acct["Name"])
	require.Equal(t, "Account", acct["attributes"].(map[string]any)["type"], "a related record carries its attributes, as Salesforce returns it")
	require.Contains(t, rec["Owner"].(map[string]any)["Email"], "@")

	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/describe", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"name":"Region__c"`)

	_, err := fakesource.New(fakesource.Options{SalesforceCustomFields: map[string][]string{"Case": {"Region"}}})
	require.ErrorIs(t, err, fakesource.ErrInvalid, "a custom field needs __c")
}

// An org without Portico's custom fields refuses queries and upserts that
// name them, and its describe lacks them, as a real org does.
func TestSalesforceWithoutPorticoFields(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.SalesforceWithoutPorticoFields = true })
	c := e.sf()
	for _, q := range []string{"SELECT Id, Portico_Action_Id__c FROM Case", "SELECT Id, QuickBooks_Customer_Id__c FROM Account"} {
		code, _, body := c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(q), nil)
		require.Equal(t, http.StatusBadRequest, code, q)
		require.Contains(t, string(body), "INVALID_FIELD")
	}
	code, _, body := c.do("GET", "/services/data/v59.0/sobjects/Account/describe", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "__c")
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/k1", map[string]any{"Subject": "x"})
	require.Equal(t, http.StatusNotFound, code, string(body))
	require.Contains(t, string(body), "external ID field does not exist")
	code, _, body = c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape("SELECT Id, Name FROM Account LIMIT 2"), nil)
	require.Equal(t, http.StatusOK, code, string(body))
}
