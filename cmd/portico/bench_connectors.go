package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
)

// benchTarget is one connector's side of the benchmark. Every request the
// connector sends in a timed pull is recorded, and the baseline replays
// exactly those requests with raw net/http and decodes them with
// encoding/json: the same pages, so the ratio is the client's own cost.
type benchTarget struct {
	name, object string
	limit        int
	conn         connectors.Connector
	rec          *recorder
	decode       func(body []byte) (int, error)
}

// benchConnectorsCmd measures full pulls through the real connectors and
// shared client (retries, breaker, quota, size cap, record extraction)
// against raw net/http + encoding/json fetching the same pages from the
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
			targets, err := benchTargets(sim.Credentials(srv.URL), only)
			if err != nil {
				return failed(err)
			}
			raw := &http.Client{}
			perConnector := map[string]any{}
			total, worst := 0, 0.0
			var sumOurs, sumBase float64
			for _, tg := range targets {
				// One untimed pull warms connections and tokens.
				if _, err := pullThrough(ctx, tg.conn, tg.object, tg.limit); err != nil {
					return failed(fmt.Errorf("bench: %s: %w", tg.name, err))
				}
				var best, bestBase float64
				n := 0
				for r := range rounds {
					tg.rec.reset()
					start := time.Now()
					if _, err := pullThrough(ctx, tg.conn, tg.object, tg.limit); err != nil {
						return failed(fmt.Errorf("bench: %s: %w", tg.name, err))
					}
					oursTime := time.Since(start)
					start = time.Now()
					fetched, err := replay(ctx, raw, tg.rec.calls(), tg.decode)
					if err != nil {
						return failed(fmt.Errorf("bench: %s baseline: %w", tg.name, err))
					}
					baseTime := time.Since(start)
					// Both sides handled the same pages: rate them by the
					// records those pages hold.
					ours, theirs := float64(fetched)/oursTime.Seconds(), float64(fetched)/baseTime.Seconds()
					n = fetched
					fmt.Fprintf(c.stdout, "%s round %d: %d %s records in %d requests  connector %.0f/s  baseline %.0f/s\n",
						tg.name, r+1, fetched, tg.object, len(tg.rec.calls()), ours, theirs)
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
	cmd.Flags().IntVar(&rounds, "rounds", 5, "timed rounds; the best of each side is reported")
	cmd.Flags().StringVar(&only, "connector", "all", "all, salesforce, accounting or inventory")
	return cmd
}

// benchTargets builds the connectors under test, each on its own shared
// client with the default settings, recording what they send.
func benchTargets(cr fakesource.Credentials, only string) ([]benchTarget, error) {
	var out []benchTarget
	reg := connectorRegistry()
	add := func(name, object string, limit int, sc fakesource.SystemCredentials, decode func([]byte) (int, error)) error {
		conn := config.DefaultConnection(config.ConnectionConfig{Name: "bench-" + name, Type: name, BaseURL: sc.BaseURL,
			TokenURL: sc.TokenURL, ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken,
			AccessToken: sc.AccessToken, Realm: sc.Realm})
		rec := &recorder{base: http.DefaultTransport}
		client, err := httpclient.New(httpclient.Options{Connection: conn, Transport: rec})
		if err != nil {
			return err
		}
		c, err := reg.New(name, connectors.Deps{Connection: conn.Connector(), HTTP: client})
		if err != nil {
			return err
		}
		out = append(out, benchTarget{name: name, object: object, limit: limit, conn: c, rec: rec, decode: decode})
		return nil
	}
	if only == "all" || only == "salesforce" {
		if err := add("salesforce", "CaseComment", 2000, cr.Salesforce, decodeSalesforce); err != nil {
			return nil, err
		}
	}
	if only == "all" || only == "accounting" {
		if err := add("accounting", "Invoice", 1000, cr.Accounting, decodeQuickBooks); err != nil {
			return nil, err
		}
	}
	if only == "all" || only == "inventory" {
		if err := add("inventory", inventory.ObjOrder, 500, cr.Inventory, decodeSquareOrders); err != nil {
			return nil, err
		}
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

// call is one recorded request.
type call struct {
	method, url string
	header      http.Header
	body        []byte
}

// recorder notes every API request (not token requests) it carries.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []call
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "token") {
		var body []byte
		if req.GetBody != nil {
			if rc, err := req.GetBody(); err == nil {
				body, _ = io.ReadAll(rc)
				rc.Close()
			}
		}
		r.mu.Lock()
		r.log = append(r.log, call{method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body})
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = nil
}

func (r *recorder) calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.log...)
}

// replay is the baseline: send the same requests with a plain client and
// decode each answer with encoding/json.
func replay(ctx context.Context, client *http.Client, calls []call, decode func([]byte) (int, error)) (int, error) {
	n := 0
	for _, cl := range calls {
		var body io.Reader
		if cl.body != nil {
			body = bytes.NewReader(cl.body)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
		if err != nil {
			return n, err
		}
		req.Header = cl.header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return n, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		if resp.StatusCode != http.StatusOK {
			return n, fmt.Errorf("%s %s: HTTP %d: %s", cl.method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
		got, err := decode(data)
		if err != nil {
			return n, err
		}
		n += got
	}
	return n, nil
}

func decodeSalesforce(body []byte) (int, error) {
	var page struct {
		Records []struct {
			ID             string `json:"Id"`
			SystemModstamp string `json:"SystemModstamp"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, err
	}
	for _, r := range page.Records {
		if _, err := time.Parse("2006-01-02T15:04:05.000-0700", r.SystemModstamp); err != nil {
			return 0, err
		}
	}
	return len(page.Records), nil
}

func decodeQuickBooks(body []byte) (int, error) {
	var page struct {
		QueryResponse map[string]json.RawMessage `json:"QueryResponse"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, err
	}
	n := 0
	for k, v := range page.QueryResponse {
		if len(v) == 0 || v[0] != '[' {
			continue // startPosition, maxResults
		}
		var recs []struct {
			ID        string `json:"Id"`
			SyncToken string `json:"SyncToken"`
			MetaData  struct {
				LastUpdatedTime time.Time `json:"LastUpdatedTime"`
			} `json:"MetaData"`
		}
		if err := json.Unmarshal(v, &recs); err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
		n += len(recs)
	}
	return n, nil
}

func decodeSquareOrders(body []byte) (int, error) {
	var page struct {
		Orders []struct {
			ID        string    `json:"id"`
			Version   int64     `json:"version"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"orders"`
		Locations []json.RawMessage `json:"locations"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, err
	}
	return len(page.Orders), nil
}
