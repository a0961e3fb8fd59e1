// Package mappingbench measures how fast the mapping engine converts a
// 20-field Salesforce Case, against a naive baseline (encoding/json into a
// map, then plain lookups) measured in the same run. It is shared by the
// Go benchmark and `portico bench mapping`.
package mappingbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porticohq/portico/internal/mapping"
)

// CaseMapping is the shipped Case mapping plus five custom fields: 20
// portal fields, one of them a CEL transform and two enum maps.
const CaseMapping = `version: 1
connection: salesforce
objects:
  case:
    source: {object: Case, key: Id, version: SystemModstamp, modified: LastModifiedDate}
    owner: {account: AccountId, contact: ContactId, hierarchy: true}
    freshness: 60s
    roles: [account_admin, member]
    fields:
      id: Id
      number: CaseNumber
      subject: {source: Subject, direction: [read, create], validate: {required: true, max_length: 255}}
      description: {source: Description, direction: [read, create], validate: {max_length: 32000}}
      status:
        source: Status
        values: {New: new, Working: in_progress, Escalated: in_progress, Waiting on Customer: waiting_on_you, Closed: closed}
        direction: [read, update]
        validate: {allowed: [closed]}
      priority:
        source: Priority
        values: {Low: low, Medium: medium, High: high}
        default: medium
        direction: [read, create]
        validate: {allowed: [low, medium, high]}
      type: {source: Type, direction: [read, create], validate: {max_length: 40}}
      origin: Origin
      account_id: AccountId
      account_name: Account.Name
      contact_id: ContactId
      contact_name: Contact.Name
      created_at: CreatedDate
      updated_at: LastModifiedDate
      closed_at: ClosedDate
      x_is_closed: {source: IsClosed, type: bool}
      x_escalated: {source: IsEscalated, type: bool}
      x_owner_id: {source: OwnerId, type: id, roles: [account_admin]}
      x_supplied_email: {source: SuppliedEmail, type: email}
      x_channel: {source: Origin, type: string, transform: "value == null ? 'unknown' : value.lowerAscii()"}
    status:
      new: {label: Received, next_step: We have your request and will review it shortly.}
      in_progress: {label: In progress, next_step: We are working on your request.}
      waiting_on_you: {label: Waiting for you, next_step: Please reply with the information we asked for.}
      closed: {label: Closed, next_step: Nothing more to do. Open a new case if you need more help.}
`

// CaseRecord is a Case as a SOQL query returns it, with related names.
const CaseRecord = `{"attributes":{"type":"Case","url":"/services/data/v59.0/sobjects/Case/5003000000D8cuIAAR"},"Id":"5003000000D8cuIAAR","CaseNumber":"00001026","Subject":"Printer jams on every second page","Description":"Since the firmware update the printer jams on every second page.\nModel: \"LX-200\", 3rd floor","Status":"Working","Priority":"High","Origin":"Web","Type":"Problem","Reason":null,"AccountId":"0013000000abcDEAAY","ContactId":"0033000000xyzABAA2","Account":{"attributes":{"type":"Account","url":"/services/data/v59.0/sobjects/Account/0013000000abcDEAAY"},"Name":"Acme Corp"},"Contact":{"attributes":{"type":"Contact","url":"/services/data/v59.0/sobjects/Contact/0033000000xyzABAA2"},"Name":"Ada Lovelace"},"IsClosed":false,"IsEscalated":false,"ClosedDate":null,"CreatedDate":"2024-05-01T10:00:00.000+0000","LastModifiedDate":"2024-05-02T11:30:00.000+0000","SystemModstamp":"2024-05-02T11:30:01.000+0000","OwnerId":"0053000000ownerAAA","SuppliedEmail":"ada@acme.example","Portico_Action_Id__c":null}`

// Case compiles CaseMapping.
func Case() (*mapping.Object, error) {
	set, err := mapping.Parse("bench_case.yaml", []byte(CaseMapping))
	if err != nil {
		return nil, err
	}
	o, _ := set.Object("case")
	return o, nil
}

// Baseline maps the record the obvious way: decode all of it with
// encoding/json, then look each source path up.
func Baseline(raw []byte, paths [][]string) (map[string]any, error) {
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(paths))
	for _, p := range paths {
		var v any = rec
		for _, seg := range p {
			m, _ := v.(map[string]any)
			v = m[seg]
		}
		out[p[len(p)-1]] = v
	}
	return out, nil
}

// BaselinePaths are the source paths CaseMapping reads.
var BaselinePaths = [][]string{
	{"Id"}, {"CaseNumber"}, {"Subject"}, {"Description"}, {"Status"}, {"Priority"}, {"Type"}, {"Origin"},
	{"AccountId"}, {"Account", "Name"}, {"ContactId"}, {"Contact", "Name"}, {"CreatedDate"}, {"LastModifiedDate"},
	{"ClosedDate"}, {"IsClosed"}, {"IsEscalated"}, {"OwnerId"}, {"SuppliedEmail"}, {"SystemModstamp"},
}

// Result is one run's figures.
type Result struct {
	Records   int64   `json:"records"`
	Workers   int     `json:"workers"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"records_per_s"`
	PerCore   float64 `json:"records_per_s_per_core"`
	// PerCPUSecond is records per second of CPU time the process used
	// (GC included): the per-core figure when other work shares the cores.
	PerCPUSecond   float64 `json:"records_per_cpu_s"`
	BaselinePerCPU float64 `json:"baseline_per_cpu_s"`
	BaselinePerSec float64 `json:"baseline_per_s"`
	Ratio          float64 `json:"ratio"`
}

// Run maps for about d with one goroutine per worker, then runs the
// baseline for as long, and reports both. Each worker keeps its last page
// of results alive, as the sync does until it stores a page.
func Run(ctx context.Context, d time.Duration, workers int, progress io.Writer) (Result, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	o, err := Case()
	if err != nil {
		return Result{}, err
	}
	raw := []byte(CaseRecord)
	m, err := o.ToPortal(raw)
	if err != nil {
		return Result{}, err
	}
	if len(m.Fields) != 20 || len(m.Problems) > 0 {
		return Result{}, fmt.Errorf("mappingbench: mapped %d fields with problems %v; want 20 and none", len(m.Fields), m.Problems)
	}
	fmt.Fprintf(progress, "mapping a 20-field Case record with %d worker(s) for %s\n", workers, d)
	runtime.GC()
	cpu0, _ := cpuTime()
	n, secs, err := measure(ctx, d, workers, func() (any, error) { return o.ToPortal(raw) })
	if err != nil {
		return Result{}, err
	}
	cpu1, cpuOK := cpuTime()
	r := Result{Records: n, Workers: workers, Seconds: secs, PerSecond: float64(n) / secs}
	r.PerCore = r.PerSecond / float64(workers)
	if cpuOK && cpu1 > cpu0 {
		r.PerCPUSecond = float64(n) / (cpu1 - cpu0).Seconds()
	}
	fmt.Fprintf(progress, "engine:   %d records in %.2fs = %.0f records/s (%.0f per core by wall clock, %.0f per CPU second)\n", n, secs, r.PerSecond, r.PerCore, r.PerCPUSecond)
	runtime.GC()
	cpu0, _ = cpuTime()
	bn, bsecs, err := measure(ctx, d, workers, func() (any, error) { return Baseline(raw, BaselinePaths) })
	if err != nil {
		return Result{}, err
	}
	cpu1, cpuOK = cpuTime()
	r.BaselinePerSec = float64(bn) / bsecs
	if cpuOK && cpu1 > cpu0 {
		r.BaselinePerCPU = float64(bn) / (cpu1 - cpu0).Seconds()
	}
	r.Ratio = r.PerSecond / r.BaselinePerSec
	fmt.Fprintf(progress, "baseline: %d records in %.2fs = %.0f records/s (%.0f per CPU second; encoding/json + lookups)\n", bn, bsecs, r.BaselinePerSec, r.BaselinePerCPU)
	return r, nil
}

// pageSize is how many mapped records a worker holds, as the sync holds a
// page until it is stored: the live heap that sets the GC's pace.
const pageSize = 2000

func measure(ctx context.Context, d time.Duration, workers int, fn func() (any, error)) (int64, float64, error) {
	var total atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var n int64
			page := make([]any, pageSize)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				for i := range 1000 {
					v, err := fn()
					if err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					page[(int(n)+i)%pageSize] = v
				}
				n += 1000
			}
			total.Add(n)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return total.Load(), time.Since(start).Seconds(), ctx.Err()
}
