package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/mappings"
)

// ConnectorsConfig is the connectors bench: full pulls through the real
// connectors and shared client (retries, breaker, quota, size cap, record
// extraction) against raw net/http + encoding/json fetching the same pages
// from the same simulator, interleaved in the same run.
type ConnectorsConfig struct {
	// Registry builds the connectors under test.
	Registry *sources.Registry
	// Records are seeded in the simulator (all objects).
	Records int
	// Rounds are timed; the best of each side is reported.
	Rounds int
	// Only is all, salesforce, accounting or inventory.
	Only string
	// Select is what the Salesforce pull selects: "" the connector's
	// defaults (of CaseComment, the object with the most records);
	// "shipped" the paths the shipped case mapping reads, of Case; "60"
	// what the wide mapping (WideFields fields per object, custom fields
	// of the simulated org filled in every record) reads of Case;
	// "compare" the shipped then the wide, from the same simulator, and
	// their ratio. QuickBooks and Square read whole records whatever the
	// mapping names, so it changes nothing for them.
	Select string
}

// Validate names the bad setting.
func (c ConnectorsConfig) Validate() error {
	if c.Records < 1 || c.Records > fakesource.MaxRecords || c.Rounds < 1 {
		return usage("--records must be 1..%d and --rounds positive", fakesource.MaxRecords)
	}
	switch c.Select {
	case "", "shipped", "60", "compare":
	default:
		return usage("--select must be compare, shipped or 60 (or empty for the connector's defaults); got %q", c.Select)
	}
	switch c.Only {
	case "all", "salesforce", "accounting", "inventory":
		return nil
	}
	return usage("--connector must be all, salesforce, accounting or inventory; got %q", c.Only)
}

// connTarget is one connector's side of the benchmark. Every request the
// connector sends in a timed pull is recorded, and the baseline replays
// exactly those requests with raw net/http and decodes them with
// encoding/json: the same pages, so the ratio is the client's own cost.
type connTarget struct {
	name, object string
	limit        int
	conn         connectors.Connector
	rec          *recorder
	decode       func(body []byte) (int, error)
}

// connFigures is one connector's best round on each side.
type connFigures struct {
	records        int
	best, bestBase float64
	bytesPerRecord float64 // of the answers' bodies
}

// RunConnectors pulls through each connector and replays its requests raw,
// Rounds times, and reports the best of each side; its ratio is the worst
// connector's, since each must meet the goal. With Select "compare" it
// then pulls Salesforce's Case again selecting what the wide mapping
// reads (WideFields fields), from the same simulator, and reports it
// beside the shipped mapping's pull.
func RunConnectors(ctx context.Context, cfg ConnectorsConfig, out Output) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(out.Stdout, "seeding the simulator with %d records\n", cfg.Records)
	opts := fakesource.Options{Seed: 1, Records: cfg.Records}
	var wide *widening
	if cfg.Select == "60" || cfg.Select == "compare" {
		var err error
		if wide, err = newWidening(WideFields); err != nil {
			return err
		}
		wide.SimOptions(&opts)
	}
	sim, err := fakesource.New(opts)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	defer sim.Close()
	runs, err := connectorRuns(cfg, wide)
	if err != nil {
		return err
	}
	raw := &http.Client{}
	figures := map[string]any{"bench": "connectors", "select": cmp.Or(cfg.Select, "defaults")}
	var sfRates [2]float64
	for i, run := range runs {
		targets, err := connTargets(cfg.Registry, sim.Credentials(srv.URL), run.only, run.fields)
		if err != nil {
			return err
		}
		if len(runs) > 1 {
			fmt.Fprintf(out.Stdout, "selecting what the %s mapping reads\n", run.label)
		}
		perConnector := map[string]any{}
		total, worst := 0, 0.0
		var sumOurs, sumBase float64
		for _, tg := range targets {
			f, err := measureConnector(ctx, out, raw, tg, cfg.Rounds)
			if err != nil {
				return err
			}
			ratio := f.best / f.bestBase
			fmt.Fprintf(out.Stdout, "%s best of %d: connector %.0f records/s, baseline %.0f records/s, ratio %.2f (goal >= 0.8), %.0f bytes per record\n",
				tg.name, cfg.Rounds, f.best, f.bestBase, ratio, f.bytesPerRecord)
			fig := map[string]any{"object": tg.object, "records": f.records, "records_per_s": int(f.best), "baseline_per_s": int(f.bestBase),
				"ratio": round2(ratio), "bytes_per_record": int(f.bytesPerRecord)}
			if n := len(run.fields[tg.object]); n > 0 && tg.name == "salesforce" {
				fig["selected_paths"] = n
				sfRates[i] = f.best
			}
			perConnector[tg.name] = fig
			total += f.records
			sumOurs, sumBase = sumOurs+f.best, sumBase+f.bestBase
			if worst == 0 || ratio < worst {
				worst = ratio
			}
		}
		if i == 0 {
			addFigures(figures, map[string]any{"records": total, "records_per_s": int(sumOurs), "baseline_per_s": int(sumBase),
				"ratio": round2(worst), "connectors": perConnector})
			continue
		}
		figures["wide"] = perConnector["salesforce"]
		figures["wide_fields"] = WideFields
		figures["wide_vs_shipped"] = round2(sfRates[1] / sfRates[0])
		fmt.Fprintf(out.Stdout, "salesforce Case: %d fields per object vs the shipped mapping: %.2f of its records/s\n", WideFields, sfRates[1]/sfRates[0])
	}
	return writeResult(out.Stdout, figures)
}

// connectorRun is one pass over the connectors, with a Salesforce select.
type connectorRun struct {
	label  string
	only   string
	fields map[string][]string
}

// connectorRuns are the passes cfg.Select asks for: the connector's
// defaults, the shipped mappings' select, the wide mapping's, or the
// shipped then the wide (on Salesforce alone: QuickBooks and Square read
// whole records whatever a mapping names).
func connectorRuns(cfg ConnectorsConfig, wide *widening) ([]connectorRun, error) {
	shipped := func() (map[string][]string, error) {
		set, err := mapping.Load(mappings.FS())
		if err != nil {
			return nil, err
		}
		return set.SourcePaths(fakesource.Salesforce), nil
	}
	wideFields := func() (map[string][]string, error) {
		set, err := wide.Set()
		if err != nil {
			return nil, err
		}
		return set.SourcePaths(fakesource.Salesforce), nil
	}
	switch cfg.Select {
	case "":
		return []connectorRun{{label: "defaults", only: cfg.Only}}, nil
	case "shipped":
		f, err := shipped()
		return []connectorRun{{label: "shipped", only: cfg.Only, fields: f}}, err
	case "60":
		f, err := wideFields()
		return []connectorRun{{label: "60-field", only: cfg.Only, fields: f}}, err
	}
	s, err := shipped()
	if err != nil {
		return nil, err
	}
	w, err := wideFields()
	if err != nil {
		return nil, err
	}
	runs := []connectorRun{{label: "shipped", only: cfg.Only, fields: s}}
	if cfg.Only == "all" || cfg.Only == "salesforce" {
		runs = append(runs, connectorRun{label: "60-field", only: "salesforce", fields: w})
	}
	return runs, nil
}

// measureConnector warms a connector up with one untimed pull, then times
// rounds of a pull through it and of the raw replay of the same requests.
func measureConnector(ctx context.Context, out Output, raw *http.Client, tg connTarget, rounds int) (connFigures, error) {
	if _, err := pullThrough(ctx, tg.conn, tg.object, tg.limit); err != nil {
		return connFigures{}, fmt.Errorf("bench: %s: %w", tg.name, err)
	}
	var f connFigures
	for r := range rounds {
		tg.rec.reset()
		start := time.Now()
		if _, err := pullThrough(ctx, tg.conn, tg.object, tg.limit); err != nil {
			return connFigures{}, fmt.Errorf("bench: %s: %w", tg.name, err)
		}
		oursTime := time.Since(start)
		start = time.Now()
		fetched, size, err := replay(ctx, raw, tg.rec.calls(), tg.decode)
		if err != nil {
			return connFigures{}, fmt.Errorf("bench: %s baseline: %w", tg.name, err)
		}
		baseTime := time.Since(start)
		// Both sides handled the same pages: rate them by the records
		// those pages hold.
		ours, theirs := float64(fetched)/oursTime.Seconds(), float64(fetched)/baseTime.Seconds()
		f.records = fetched
		f.bytesPerRecord = float64(size) / float64(max(fetched, 1))
		fmt.Fprintf(out.Stdout, "%s round %d: %d %s records in %d requests  connector %.0f/s  baseline %.0f/s\n",
			tg.name, r+1, fetched, tg.object, len(tg.rec.calls()), ours, theirs)
		f.best, f.bestBase = max(f.best, ours), max(f.bestBase, theirs)
	}
	return f, nil
}

// connTargets builds the connectors under test, each on its own shared
// client with the default settings, recording what they send.
func connTargets(reg *sources.Registry, cr fakesource.Credentials, only string, fields map[string][]string) ([]connTarget, error) {
	sfObject := "CaseComment"
	if len(fields) > 0 {
		sfObject = "Case"
	}
	all := []struct {
		name, object string
		limit        int
		creds        fakesource.SystemCredentials
		decode       func([]byte) (int, error)
	}{
		{"salesforce", sfObject, 2000, cr.Salesforce, decodeSalesforce},
		{"accounting", "Invoice", 1000, cr.Accounting, decodeQuickBooks},
		{"inventory", inventory.ObjOrder, 500, cr.Inventory, decodeSquareOrders},
	}
	var out []connTarget
	for _, t := range all {
		if only != "all" && only != t.name {
			continue
		}
		sc := t.creds
		conn := config.DefaultConnection(config.ConnectionConfig{Name: "bench-" + t.name, Type: t.name, BaseURL: sc.BaseURL,
			TokenURL: sc.TokenURL, ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken,
			AccessToken: sc.AccessToken, Realm: sc.Realm})
		rec := &recorder{base: http.DefaultTransport}
		client, err := httpclient.New(httpclient.Options{Connection: conn, Transport: rec})
		if err != nil {
			return nil, err
		}
		cc := conn.Connector()
		if t.name == "salesforce" {
			cc.Fields = fields
		}
		c, err := reg.New(t.name, connectors.Deps{Connection: cc, HTTP: client})
		if err != nil {
			return nil, err
		}
		out = append(out, connTarget{name: t.name, object: t.object, limit: t.limit, conn: c, rec: rec, decode: t.decode})
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
// decode each answer with encoding/json. It returns the records and the
// bytes of the answers' bodies.
func replay(ctx context.Context, client *http.Client, calls []call, decode func([]byte) (int, error)) (n, size int, err error) {
	for _, cl := range calls {
		var body io.Reader
		if cl.body != nil {
			body = bytes.NewReader(cl.body)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
		if err != nil {
			return n, size, err
		}
		req.Header = cl.header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return n, size, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, size, err
		}
		if resp.StatusCode != http.StatusOK {
			return n, size, fmt.Errorf("%s %s: HTTP %d: %s", cl.method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
		got, err := decode(data)
		if err != nil {
			return n, size, err
		}
		n, size = n+got, size+len(data)
	}
	return n, size, nil
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
