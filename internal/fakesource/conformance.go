package fakesource

import (
	"net/http"
	"strings"
)

// conformanceRoutes serve what the vendors' own client libraries call
// around the connectors' calls, and answer unknown routes as each vendor
// does (JSON errors, not Go's plain-text "404 page not found").
func (s *Sim) conformanceRoutes(mux *http.ServeMux) {
	// describeGlobal without the trailing slash (jsforce asks so); Go's
	// mux would answer it with a redirect the clients do not follow.
	mux.Handle("GET /services/data/{v}/sobjects", s.sfSObjects(http.MethodGet))
	// The version's resource list (jsforce finds the identity URL there).
	mux.Handle("GET /services/data/{v}", s.api(Salesforce, "GET /services/data/{v}", kindAPI, s.sfResources))
	mux.Handle("GET /services/data/{v}/{$}", s.api(Salesforce, "GET /services/data/{v}", kindAPI, s.sfResources))
	// The identity URL the token endpoint names as "id".
	mux.Handle("GET /id/{org}/{user}", s.api(Salesforce, "GET /id/{org}/{user}", kindAPI, s.sfIdentity))
	mux.Handle("/", http.HandlerFunc(s.notFound))
}

// sfIdentity serves Salesforce's identity service for the simulated
// integration user.
func (s *Sim) sfIdentity(w http.ResponseWriter, r *http.Request) {
	user := sfID("005", 0)
	if r.PathValue("org") != sfOrgID || r.PathValue("user") != user {
		writeJSON(w, http.StatusForbidden, "Bad_Id")
		return
	}
	base := requestBase(r)
	urls := omap{}
	for _, k := range []string{"enterprise", "metadata", "partner", "rest", "sobjects", "search", "query", "recent", "tooling_soap", "tooling_rest", "profile", "feeds", "groups", "users", "feed_items", "feed_elements", "custom_domain"} {
		var u string
		switch k {
		case "enterprise", "metadata", "partner", "tooling_soap":
			u = base + "/services/Soap/" + map[string]string{"enterprise": "c", "metadata": "m", "partner": "u", "tooling_soap": "T"}[k] + "/{version}/" + sfOrgID[:15]
		case "rest":
			u = base + "/services/data/v{version}/"
		case "tooling_rest":
			u = base + "/services/data/v{version}/tooling/"
		case "profile":
			u = base + "/" + user
		case "custom_domain":
			u = base
		default:
			u = base + "/services/data/v{version}/" + map[string]string{"sobjects": "sobjects/", "search": "search/", "query": "query/",
				"recent": "recent/", "feeds": "chatter/feeds", "groups": "chatter/groups", "users": "chatter/users",
				"feed_items": "chatter/feed-items", "feed_elements": "chatter/feed-elements"}[k]
		}
		urls = append(urls, kv{k, u})
	}
	writeJSON(w, http.StatusOK, omap{
		{"id", base + "/id/" + sfOrgID + "/" + user}, {"asserted_user", true}, {"user_id", user}, {"organization_id", sfOrgID},
		{"username", "integration@portico-sim.example"}, {"nick_name", "integration"}, {"display_name", "Portico Integration"},
		{"email", "integration@portico-sim.example"}, {"email_verified", true}, {"first_name", "Portico"}, {"last_name", "Integration"},
		{"timezone", "America/Los_Angeles"}, {"photos", omap{}}, {"addr_street", nil}, {"addr_city", nil}, {"addr_state", nil},
		{"addr_country", "US"}, {"addr_zip", nil}, {"mobile_phone", nil}, {"mobile_phone_verified", false},
		{"is_lightning_login_user", false}, {"status", omap{{"created_date", nil}, {"body", nil}}}, {"urls", urls},
		{"active", true}, {"user_type", "STANDARD"}, {"language", "en_US"}, {"locale", "en_US"}, {"utcOffset", -28800000},
		{"last_modified_date", "2025-01-01T00:00:00.000+0000"}, {"is_app_installed", true},
	})
}

// sfResources lists a version's resources, as GET /services/data/vNN.N does.
func (s *Sim) sfResources(w http.ResponseWriter, r *http.Request) {
	v, ok := sfCheckVersion(w, r)
	if !ok {
		return
	}
	p := "/services/data/" + v + "/"
	out := omap{}
	for _, k := range []string{"tooling", "metadata", "eclair", "folders", "prechatForms", "async-queries", "query", "serviceTemplates", "chatter",
		"sobjects", "search", "composite", "limits", "queryAll", "recent", "process", "actions", "analytics", "connect", "wave", "ui-api", "quickActions", "appMenu"} {
		out = append(out, kv{k, p + k})
	}
	out = append(out, kv{"identity", requestBase(r) + "/id/" + sfOrgID + "/" + sfID("005", 0)})
	writeJSON(w, http.StatusOK, out)
}

// notFound answers a route no vendor API has, in the vendor's own error
// format by the path's API: Salesforce /services/, QuickBooks /v3/ and
// /oauth2/v1/, Square /v2/ and /oauth2/.
func (s *Sim) notFound(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/services/"):
		s.countCall(Salesforce, "unknown route", http.StatusNotFound)
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	case strings.HasPrefix(p, "/v3/"), strings.HasPrefix(p, "/oauth2/v1/"):
		s.countCall(Accounting, "unknown route", http.StatusNotFound)
		// QuickBooks answers an unknown resource with a 404 fault of this form.
		qbFault(w, s.now(), http.StatusNotFound, "SystemFault", "3200", "message=Unsupported Operation; errorCode=003200; statusCode=404",
			"Operation "+strings.TrimPrefix(p, "/v3/")+" is not supported.", "")
	case strings.HasPrefix(p, "/v2/"), strings.HasPrefix(p, "/oauth2/"):
		s.countCall(Inventory, "unknown route", http.StatusNotFound)
		sqError(w, http.StatusNotFound, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Resource not found.", "")
	default:
		http.NotFound(w, r)
	}
}
