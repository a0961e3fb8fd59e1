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
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

// benchConnectorsCmd measures a full Salesforce pull through the real
// connector and shared client (retries, breaker, quota, size cap, record
// extraction) against raw net/http + encoding/json fetching the same
// pages from the same simulator, in the same run.
func (c *cli) benchConnectorsCmd() *cobra.Command {
	var records, rounds int
	var object string
	cmd := &cobra.Command{
		Use:   "connectors",
		Short: "Pull throughput through the connector and shared HTTP client vs raw net/http + encoding/json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if records < 1 || records > fakesource.MaxRecords || rounds < 1 {
				return usageErr("--records must be 1..%d and --rounds positive", fakesource.MaxRecords)
			}
			soql, err := salesforce.FullPullSOQL(object, salesforce.Options{})
			if err != nil {
				return usageErr("--object: %v", err)
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
			cr := sim.Credentials(srv.URL).Salesforce
			conn := config.DefaultConnection(config.ConnectionConfig{Name: "bench-crm", Type: "salesforce",
				BaseURL: cr.BaseURL, TokenURL: cr.TokenURL, ClientID: cr.ClientID, ClientSecret: cr.ClientSecret,
				RefreshToken: cr.RefreshToken})
			client, err := httpclient.New(httpclient.Options{Connection: conn})
			if err != nil {
				return failed(err)
			}
			sf, err := salesforce.New(connectors.Deps{Connection: conn, HTTP: client})
			if err != nil {
				return failed(err)
			}
			raw := &rawPuller{base: srv.URL, creds: cr, soql: soql, http: &http.Client{}}

			// One untimed pull each warms connections, tokens and caches.
			if _, err := pullThrough(ctx, sf, object); err != nil {
				return failed(err)
			}
			if _, err := raw.pull(ctx); err != nil {
				return failed(err)
			}
			var best, bestBase float64
			n := 0
			for r := range rounds {
				start := time.Now()
				got, err := pullThrough(ctx, sf, object)
				if err != nil {
					return failed(err)
				}
				ours := float64(got) / time.Since(start).Seconds()
				start = time.Now()
				base, err := raw.pull(ctx)
				if err != nil {
					return failed(err)
				}
				theirs := float64(base) / time.Since(start).Seconds()
				if base != got {
					return failed(fmt.Errorf("bench: the connector pulled %d records, the baseline %d", got, base))
				}
				n = got
				fmt.Fprintf(c.stdout, "round %d: %d %s records  connector %.0f/s  baseline %.0f/s\n", r+1, got, object, ours, theirs)
				best, bestBase = max(best, ours), max(bestBase, theirs)
			}
			fmt.Fprintf(c.stdout, "best of %d: connector %.0f records/s, baseline %.0f records/s, ratio %.2f (goal >= 0.8)\n",
				rounds, best, bestBase, best/bestBase)
			return benchResult(c.stdout, map[string]any{
				"bench": "connectors", "connector": "salesforce", "object": object, "records": n,
				"records_per_s": int(best), "baseline_per_s": int(bestBase), "ratio": round2(best / bestBase),
			})
		},
	}
	cmd.Flags().IntVar(&records, "records", 100000, "records seeded in the simulator (all objects)")
	cmd.Flags().IntVar(&rounds, "rounds", 3, "timed rounds; the best of each side is reported")
	cmd.Flags().StringVar(&object, "object", "CaseComment", "Salesforce object to pull")
	return cmd
}

// pullThrough runs one full pull through the connector.
func pullThrough(ctx context.Context, conn connectors.Connector, object string) (int, error) {
	n, page := 0, ""
	for {
		p, err := conn.Pull(ctx, connectors.PullRequest{Object: object, Page: page})
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
