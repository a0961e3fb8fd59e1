package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

// benchTarget is one connector's side of the benchmark: the connector
// under test and a hand-written baseline fetching the same object.
type benchTarget struct {
	name, object string
	limit        int
	conn         connectors.Connector
	base         func(ctx context.Context) (int, error)
}

// benchConnectorsCmd measures full pulls through the real connectors and
// shared client (retries, breaker, quota, size cap, record extraction)
// against raw net/http + encoding/json fetching the same objects from the
// same simulator, interleaved in the same run.
func (c *cli) benchConnectorsCmd() *cobra.Command {
	var records, rounds int
	var only string
	cmd := &cobra.Command{
		Use:   "connectors",
		Short: "Pull throughput through the connectors and shared HTTP client vs raw net/http + encoding/json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if records < 1 || records > fakesource.MaxRecords || rounds < 1 {
				return usageErr("--records must be 1..%d and --rounds positive", fakesource.MaxRecords)
			}
			switch only {
			case "all", "salesforce", "accounting", "inventory":
			default:
				return usageErr("--connector must be all, salesforce, accounting or inventory; got %q", only)
			}
			ctx := cmd.Context()
			fmt.Fprintf(c.stdout, "seeding the simulator with %d records\n", records)
			sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: records})
			if err != nil {
				return failed(err)
			}
			srv := httptest.NewServer(sim.Handler())
			defer srv.Close()
			defer sim.Close()
			targets, err := benchTargets(srv.URL, sim.Credentials(srv.URL), only)
			if err != nil {
				return failed(err)
			}
			perConnector := map[string]any{}
			total, worst := 0, 0.0
			var sumOurs, sumBase float64
			for _, tg := range targets {
				// One untimed pull each warms connections and tokens.
				if _, err := pullThrough(ctx, tg.conn, tg.object, tg.limit); err != nil {
					return failed(fmt.Errorf("bench: %s: %w", tg.name, err))
				}
				if _, err := tg.base(ctx); err != nil {
					return failed(fmt.Errorf("bench: %s baseline: %w", tg.name, err))
				}
				var best, bestBase float64
				n := 0
				for r := range rounds {
					start := time.Now()
					got, err := pullThrough(ctx, tg.conn, tg.object, tg.limit)
					if err != nil {
						return failed(fmt.Errorf("bench: %s: %w", tg.name, err))
					}
					ours := float64(got) / time.Since(start).Seconds()
					start = time.Now()
					base, err := tg.base(ctx)
					if err != nil {
						return failed(fmt.Errorf("bench: %s baseline: %w", tg.name, err))
					}
					theirs := float64(base) / time.Since(start).Seconds()
					if got < base {
						return failed(fmt.Errorf("bench: %s: the connector pulled %d records, the baseline %d", tg.name, got, base))
					}
					n = base
					fmt.Fprintf(c.stdout, "%s round %d: %d %s records  connector %.0f/s  baseline %.0f/s\n", tg.name, r+1, base, tg.object, ours, theirs)
					best, bestBase = max(best, ours), max(bestBase, theirs)
				}
				ratio := best / bestBase
				fmt.Fprintf(c.stdout, "%s best of %d: connector %.0f records/s, baseline %.0f records/s, ratio %.2f (goal >= 0.8)\n",
					tg.name, rounds, best, bestBase, ratio)
				perConnector[tg.name] = map[string]any{"object": tg.object, "records": n,
					"records_per_s": int(best), "baseline_per_s": int(bestBase), "ratio": round2(ratio)}
				total += n
				sumOurs, sumBase = sumOurs+best, sumBase+bestBase
				if worst == 0 || ratio < worst {
					worst = ratio
				}
			}
			// ratio is the worst connector's: each must meet the goal.
			return benchResult(c.stdout, map[string]any{
				"bench": "connectors", "records": total, "records_per_s": int(sumOurs), "baseline_per_s": int(sumBase),
				"ratio": round2(worst), "connectors": perConnector,
			})
		},
	}
	cmd.Flags().IntVar(&records, "records", 100000, "records seeded in the simulator (all objects)")
	cmd.Flags().IntVar(&rounds, "rounds", 3, "timed rounds; the best of each side is reported")
	cmd.Flags().StringVar(&only, "connector", "all", "all, salesforce, accounting or inventory")
	return cmd
}

// benchTargets builds the connectors under test, each on its own shared
// client with the default settings, and their baselines.
func benchTargets(base string, cr fakesource.Credentials, only string) ([]benchTarget, error) {
	var out []benchTarget
	build := func(name, typ string, sc fakesource.SystemCredentials, newConn func(connectors.Deps) (connectors.Connector, error)) (connectors.Connector, error) {
		conn := config.DefaultConnection(config.ConnectionConfig{Name: "bench-" + name, Type: typ, BaseURL: sc.BaseURL,
			TokenURL: sc.TokenURL, ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken,
			AccessToken: sc.AccessToken, Realm: sc.Realm})
		client, err := httpclient.New(httpclient.Options{Connection: conn})
		if err != nil {
			return nil, err
		}
		return newConn(connectors.Deps{Connection: conn, HTTP: client})
	}
	raw := &http.Client{}
	if only == "all" || only == "salesforce" {
		soql, err := salesforce.FullPullSOQL("CaseComment", salesforce.Options{})
		if err != nil {
			return nil, err
		}
		conn, err := build("salesforce", "salesforce", cr.Salesforce, salesforce.New)
		if err != nil {
			return nil, err
		}
		p := &rawPuller{base: base, creds: cr.Salesforce, soql: soql, http: raw}
		out = append(out, benchTarget{name: "salesforce", object: "CaseComment", limit: 2000, conn: conn, base: p.pull})
	}
	if only == "all" || only == "accounting" {
		conn, err := build("accounting", "accounting", cr.Accounting, accounting.New)
		if err != nil {
			return nil, err
		}
		p := &rawQBO{base: base, creds: cr.Accounting, http: raw}
		out = append(out, benchTarget{name: "accounting", object: "Invoice", limit: 1000, conn: conn, base: p.pull})
	}
	if only == "all" || only == "inventory" {
		conn, err := build("inventory", "inventory", cr.Inventory, inventory.New)
		if err != nil {
			return nil, err
		}
		p := &rawSquare{base: base, token: cr.Inventory.AccessToken, http: raw}
		out = append(out, benchTarget{name: "inventory", object: inventory.ObjOrder, limit: 500, conn: conn, base: p.pull})
	}
	return out, nil
}

// pullThrough runs one full pull through the connector.
func pullThrough(ctx context.Context, conn connectors.Connector, object string, limit int) (int, error) {
	n, page := 0, ""
	for {
		p, err := conn.Pull(ctx, connectors.PullRequest{Object: object, Page: page, Limit: limit})
		if err != nil {
			return n, err
		}
		n += len(p.Records)
		if p.Next == "" {
			return n, nil
		}
		page = p.Next
	}
}

// rawPuller is the baseline: what a hand-written client does with no
// retries, breaker, quota or size cap, decoding each record's id and stamp
// with encoding/json.
type rawPuller struct {
	base  string
	creds fakesource.SystemCredentials
	soql  string
	http  *http.Client
	token string
}

func (p *rawPuller) pull(ctx context.Context) (int, error) {
	if p.token == "" {
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {p.creds.ClientID},
			"client_secret": {p.creds.ClientSecret}, "refresh_token": {p.creds.RefreshToken}}
		resp, err := p.http.PostForm(p.creds.TokenURL, form)
		if err != nil {
			return 0, err
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		p.token = tr.AccessToken
	}
	next := "/services/data/" + salesforce.APIVersion + "/query?q=" + url.QueryEscape(p.soql)
	n := 0
	for next != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+next, nil)
		if err != nil {
			return n, err
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Sforce-Query-Options", "batchSize=2000")
		resp, err := p.http.Do(req)
		if err != nil {
			return n, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		if resp.StatusCode != http.StatusOK {
			return n, fmt.Errorf("baseline: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		var page struct {
			Done           bool              `json:"done"`
			NextRecordsURL string            `json:"nextRecordsUrl"`
			Records        []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return n, err
		}
		for _, raw := range page.Records {
			var rec struct {
				ID             string `json:"Id"`
				SystemModstamp string `json:"SystemModstamp"`
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				return n, err
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000-0700", rec.SystemModstamp); err != nil {
				return n, err
			}
			n++
		}
		next = ""
		if !page.Done {
			next = page.NextRecordsURL
		}
	}
	return n, nil
}

// rawQBO is the QuickBooks baseline: rotate a token once, then page the
// query by STARTPOSITION until a short page.
type rawQBO struct {
	base  string
	creds fakesource.SystemCredentials
	http  *http.Client
	token string
}

func (p *rawQBO) pull(ctx context.Context) (int, error) {
	if p.token == "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.creds.RefreshToken}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.creds.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return 0, err
		}
		req.SetBasicAuth(p.creds.ClientID, p.creds.ClientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := p.doJSON(req, &tr); err != nil {
			return 0, err
		}
		p.token = tr.AccessToken
	}
	n := 0
	for start := 1; ; start += 1000 {
		q := fmt.Sprintf("SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION %d MAXRESULTS 1000", start)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			p.base+"/v3/company/"+p.creds.Realm+"/query?query="+url.QueryEscape(q), nil)
		if err != nil {
			return n, err
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Accept", "application/json")
		var page struct {
			QueryResponse struct {
				Invoice []json.RawMessage `json:"Invoice"`
			} `json:"QueryResponse"`
		}
		if err := p.doJSON(req, &page); err != nil {
			return n, err
		}
		for _, raw := range page.QueryResponse.Invoice {
			var rec struct {
				ID       string `json:"Id"`
				MetaData struct {
					LastUpdatedTime time.Time `json:"LastUpdatedTime"`
				} `json:"MetaData"`
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				return n, err
			}
			n++
		}
		if len(page.QueryResponse.Invoice) < 1000 {
			return n, nil
		}
	}
}

func (p *rawQBO) doJSON(req *http.Request, v any) error { return doJSON(p.http, req, v) }

// rawSquare is the Square baseline: search orders with the cursor.
type rawSquare struct {
	base  string
	token string
	http  *http.Client
	locs  []string
}

func (p *rawSquare) pull(ctx context.Context) (int, error) {
	if p.locs == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/v2/locations", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
		var ls struct {
			Locations []struct {
				ID string `json:"id"`
			} `json:"locations"`
		}
		if err := doJSON(p.http, req, &ls); err != nil {
			return 0, err
		}
		for _, l := range ls.Locations {
			p.locs = append(p.locs, l.ID)
		}
	}
	n, cursor := 0, ""
	for {
		body := map[string]any{"location_ids": p.locs, "limit": 500,
			"query": map[string]any{"sort": map[string]any{"sort_field": "UPDATED_AT", "sort_order": "ASC"}}}
		if cursor != "" {
			body["cursor"] = cursor
		}
		b, err := json.Marshal(body)
		if err != nil {
			return n, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v2/orders/search", strings.NewReader(string(b)))
		if err != nil {
			return n, err
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Content-Type", "application/json")
		var page struct {
			Orders []json.RawMessage `json:"orders"`
			Cursor string            `json:"cursor"`
		}
		if err := doJSON(p.http, req, &page); err != nil {
			return n, err
		}
		for _, raw := range page.Orders {
			var rec struct {
				ID        string    `json:"id"`
				Version   int64     `json:"version"`
				UpdatedAt time.Time `json:"updated_at"`
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				return n, err
			}
			n++
		}
		if page.Cursor == "" {
			return n, nil
		}
		cursor = page.Cursor
	}
}

func doJSON(client *http.Client, req *http.Request, v any) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("baseline: %s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}
