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

// Custom fields of other types than text are described with their type,
// filled in seeded records in Salesforce's own shapes when asked, and
// writes of the wrong type are refused as Salesforce's deserializer does.
func TestSalesforceTypedCustomFieldsFilled(t *testing.T) {
	t.Parallel()
	fields := []string{"Region__c", "Notes__c", "Score__c", "Amount__c", "Share__c", "Vip__c", "Renewal__c", "Audited__c"}
	types := map[string]string{"Case.Notes__c": "textarea", "Case.Score__c": "double", "Case.Amount__c": "currency", "Case.Share__c": "percent",
		"Case.Vip__c": "boolean", "Case.Renewal__c": "date", "Case.Audited__c": "datetime"}
	e := setup(t, func(o *fakesource.Options) {
		o.SalesforceCustomFields = map[string][]string{"Case": fields}
		o.SalesforceCustomFieldTypes = types
		o.SalesforceCustomFieldsFilled = true
	})
	c := e.sf()
	code, _, body := c.do("GET", "/services/data/v59.0/sobjects/Case/describe", nil)
	require.Equal(t, http.StatusOK, code)
	described := map[string]string{}
	for _, f := range decode(t, body)["fields"].([]any) {
		f := f.(map[string]any)
		described[f["name"].(string)] = f["type"].(string)
	}
	require.Equal(t, "string", described["Region__c"])
	for k, typ := range types {
		require.Equal(t, typ, described[k[len("Case."):]], k)
	}

	code, _, body = c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(
		"SELECT Id, Region__c, Notes__c, Score__c, Amount__c, Share__c, Vip__c, Renewal__c, Audited__c FROM Case LIMIT 5"), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	for _, r := range decode(t, body)["records"].([]any) {
		rec := r.(map[string]any)
		require.IsType(t, "", rec["Region__c"])
		require.IsType(t, "", rec["Notes__c"])
		for _, f := range []string{"Score__c", "Amount__c", "Share__c"} {
			require.IsType(t, float64(0), rec[f], f)
		}
		require.IsType(t, true, rec["Vip__c"])
		require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, rec["Renewal__c"])
		require.Regexp(t, `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$`, rec["Audited__c"])
	}

	id := mustSeed(t, e, "Case", 1)
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"Score__c": "high"})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	require.Contains(t, string(body), "JSON_PARSER_ERROR")

	// Without Filled, the same fields are null in seeded records.
	bare := setup(t, func(o *fakesource.Options) { o.SalesforceCustomFields = map[string][]string{"Case": fields} })
	code, _, body = bare.sf().do("GET", "/services/data/v59.0/query?q="+url.QueryEscape("SELECT Id, Region__c FROM Case LIMIT 1"), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Nil(t, decode(t, body)["records"].([]any)[0].(map[string]any)["Region__c"])

	_, err := fakesource.New(fakesource.Options{SalesforceCustomFields: map[string][]string{"Case": {"Score__c"}},
		SalesforceCustomFieldTypes: map[string]string{"Case.Score__c": "float"}})
	require.ErrorIs(t, err, fakesource.ErrInvalid, "an unknown type")
	_, err = fakesource.New(fakesource.Options{SalesforceCustomFieldTypes: map[string]string{"Case.Score__c": "double"}})
	require.ErrorIs(t, err, fakesource.ErrInvalid, "a type of a field that is not added")
}
