package fakesource_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/porticohq/portico/internal/fakesource"
)

// A simulator with 2,000 seed records, queried like Salesforce after an OAuth login.
func Example() {
	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: 2000})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cr := sim.Credentials(srv.URL).Salesforce

	resp, err := http.PostForm(cr.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	q := url.QueryEscape("SELECT Id, CaseNumber, Status, Account.Name FROM Case ORDER BY SystemModstamp, Id LIMIT 2")
	req, _ := http.NewRequest(http.MethodGet, tok.InstanceURL+"/services/data/v59.0/query?q="+q, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Done    bool             `json:"done"`
		Records []map[string]any `json:"records"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println(resp.Status, resp.Header.Get("Sforce-Limit-Info"), page.Done, len(page.Records))
	fmt.Println(strings.HasPrefix(page.Records[0]["Id"].(string), "500"), page.Records[0]["CaseNumber"])
	fmt.Println(sim.Stats().CallCount(fakesource.Salesforce, "query", http.StatusOK))
	// Output:
	// 200 OK api-usage=1/100000 true 2
	// true 00001001
	// 1
}
