package fakesource_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// The demo story links its records across the three systems the way the
// seed links every account, in the vendors' shapes, and is told once.
func TestStoryIsToldOnceAndLinkedAcrossTheSystems(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.Records = 300 })
	cast, err := e.sim.Cast()
	require.NoError(t, err)
	st, err := e.sim.TellStory()
	require.NoError(t, err)
	require.Equal(t, cast.People, st.People, "Cast names whom TellStory tells about")
	require.Len(t, st.Quotes, 2)

	child, err := e.sim.Record(fakesource.Salesforce, "Account", st.Child)
	require.NoError(t, err)
	require.Equal(t, st.Parent, child["ParentId"])
	for _, p := range st.People {
		c, err := e.sim.Record(fakesource.Salesforce, "Contact", p.Contact)
		require.NoError(t, err)
		require.Equal(t, p.Account, c["AccountId"])
		require.Equal(t, p.Email, c["Email"])
		require.Equal(t, p.First+" "+p.Last, c["Name"])
	}

	// The waiting case, and the support team's question as its newest
	// published comment, read over the API as Portico reads them.
	sf := e.sf()
	waiting, err := e.sim.Record(fakesource.Salesforce, "Case", st.WaitingCase)
	require.NoError(t, err)
	require.Equal(t, "Waiting on Customer", waiting["Status"])
	require.Equal(t, st.People[1].Contact, waiting["ContactId"], "Mark's case")
	page := sfQuery(t, sf, "SELECT Id, CommentBody, IsPublished, CreatedDate, SystemModstamp FROM CaseComment WHERE ParentId = '"+st.WaitingCase+"' ORDER BY SystemModstamp, Id")
	var published []string
	for _, r := range page {
		if r["IsPublished"] == true {
			published = append(published, r["CommentBody"].(string))
		}
	}
	require.NotEmpty(t, published)
	require.Equal(t, st.Question, published[len(published)-1])
	// Told in order: the case was opened days before support asked.
	for _, r := range page {
		if r["IsPublished"] == true {
			require.Less(t, waiting["CreatedDate"].(string), r["CreatedDate"].(string))
		}
	}
	require.Less(t, page[len(page)-1]["CreatedDate"].(string), waiting["SystemModstamp"].(string))

	// Each presented quote's lines add up to it, in its currency.
	for i, q := range st.Quotes {
		quote, err := e.sim.Record(fakesource.Salesforce, "Quote", q)
		require.NoError(t, err)
		require.Equal(t, "Presented", quote["Status"])
		require.Equal(t, []string{"USD", "EUR"}[i], quote["CurrencyIsoCode"])
		lines := sfQuery(t, sf, "SELECT Id, Quantity, UnitPrice, Discount, TotalPrice, CurrencyIsoCode, Quote.Name FROM QuoteLineItem WHERE QuoteId = '"+q+"'")
		require.Len(t, lines, 3)
		var sum float64
		for _, l := range lines {
			require.Equal(t, quote["CurrencyIsoCode"], l["CurrencyIsoCode"])
			require.Equal(t, quote["Name"], l["Quote"].(map[string]any)["Name"])
			sum += l["TotalPrice"].(float64)
		}
		require.InDelta(t, quote["GrandTotal"].(float64), sum, 0.001)
	}

	// An open invoice in QuickBooks and an order on its way in Square, of
	// the customers the accounts name.
	for _, acc := range []string{st.Child, st.Other} {
		a, err := e.sim.Record(fakesource.Salesforce, "Account", acc)
		require.NoError(t, err)
		qbq := url.QueryEscape("SELECT * FROM Invoice WHERE CustomerRef = '" + a["QuickBooks_Customer_Id__c"].(string) + "'")
		code, _, body := e.qb().do("GET", e.qbPath("/query?query="+qbq), nil)
		require.Equal(t, http.StatusOK, code, string(body))
		open := 0
		for _, inv := range decode(t, body)["QueryResponse"].(map[string]any)["Invoice"].([]any) {
			m := inv.(map[string]any)
			if m["Balance"].(float64) > 0 && m["DueDate"].(string) > e.clock.Now().Format("2006-01-02") {
				open++
			}
		}
		require.Equal(t, 1, open, "one invoice due, not yet overdue")
		code, _, body = e.sq().do("POST", "/v2/orders/search", map[string]any{"location_ids": []string{locationID(t, e)},
			"query": map[string]any{"filter": map[string]any{"customer_filter": map[string]any{"customer_ids": []string{a["Square_Customer_Id__c"].(string)}},
				"state_filter": map[string]any{"states": []string{"OPEN"}}}}})
		require.Equal(t, http.StatusOK, code, string(body))
		orders := decode(t, body)["orders"].([]any)
		require.Len(t, orders, 1, "the story's order is the one open")
		ship := orders[0].(map[string]any)["fulfillments"].([]any)[0].(map[string]any)
		require.Equal(t, "COMPLETED", ship["state"], "it has left")
		require.NotEmpty(t, ship["shipment_details"].(map[string]any)["tracking_url"])
		require.Less(t, orders[0].(map[string]any)["created_at"].(string), ship["shipment_details"].(map[string]any)["shipped_at"].(string),
			"placed before it shipped")
	}

	// Told once: a second telling changes nothing.
	before := e.sim.Stats().Records
	again, err := e.sim.TellStory()
	require.NoError(t, err)
	require.Equal(t, st, again)
	require.Equal(t, before, e.sim.Stats().Records)
	w2, err := e.sim.Record(fakesource.Salesforce, "Case", st.WaitingCase)
	require.NoError(t, err)
	require.Equal(t, waiting["SystemModstamp"], w2["SystemModstamp"])
}

// A restart that replays the journal finds the story told.
func TestStorySurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := fakesource.Options{Seed: 3, Records: 300, StateDir: dir, Now: newClock().Now}
	sim, _ := fakesourcetest.Start(t, opts)
	st, err := sim.TellStory()
	require.NoError(t, err)
	sim.Close()
	sim2, _ := fakesourcetest.Start(t, opts)
	before := sim2.Stats().Records
	again, err := sim2.TellStory()
	require.NoError(t, err)
	require.Equal(t, st, again)
	require.Equal(t, before, sim2.Stats().Records, "nothing told twice")
}

func TestStoryNeedsAHierarchy(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.Records = 60 })
	_, err := e.sim.TellStory()
	require.ErrorIs(t, err, fakesource.ErrInvalid)
}

func sfQuery(t *testing.T, c *client, soql string) []map[string]any {
	t.Helper()
	code, _, body := c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(soql), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var out []map[string]any
	for _, r := range decode(t, body)["records"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func locationID(t *testing.T, e *env) string {
	t.Helper()
	code, _, body := e.sq().do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code)
	return decode(t, body)["locations"].([]any)[0].(map[string]any)["id"].(string)
}
