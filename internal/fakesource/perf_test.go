package fakesource_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/porticohq/portico/internal/fakesource"
)

// BenchmarkSalesforceFullSync pages through every Case of a 1,000,000-record simulator.
func BenchmarkSalesforceFullSync(b *testing.B) {
	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: fakesource.MaxRecords})
	if err != nil {
		b.Fatal(err)
	}
	srv := newServer(b, sim)
	cr := sim.Credentials(srv)
	t := b
	c := sfLogin(t, srv, cr)
	for b.Loop() {
		path := "/services/data/v59.0/query?q=" + url.QueryEscape("SELECT Id, Subject, Status, SystemModstamp FROM Case ORDER BY SystemModstamp, Id")
		n := 0
		for {
			code, _, body := c.do("GET", path, nil)
			if code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
			page := decode(t, body)
			n += len(page["records"].([]any))
			next, _ := page["nextRecordsUrl"].(string)
			if next == "" {
				break
			}
			path = next
		}
		b.ReportMetric(float64(n), "records/op")
	}
}

// BenchmarkAccountingFullSync pages through every Invoice with STARTPOSITION/MAXRESULTS.
func BenchmarkAccountingFullSync(b *testing.B) {
	clk := newClock()
	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: fakesource.MaxRecords, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	srv := newServer(b, sim)
	t := b
	e := &env{t: t, sim: sim, url: srv, clock: clk, cr: sim.Credentials(srv)}
	c := e.qb()
	for b.Loop() {
		n := 0
		for start := 1; ; start += 1000 {
			q := "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION " + strconv.Itoa(start) + " MAXRESULTS 1000"
			code, _, body := c.do("GET", e.qbPath("/query?query="+url.QueryEscape(q)), nil)
			if code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
			rows, _ := decode(t, body)["QueryResponse"].(map[string]any)["Invoice"].([]any)
			n += len(rows)
			if len(rows) < 1000 {
				break
			}
		}
		b.ReportMetric(float64(n), "records/op")
	}
}
