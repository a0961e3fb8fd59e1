package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/tracing"
	"github.com/porticohq/portico/mappings"
)

// TestCreateCaseIsOneTrace: a customer's new case is one trace, from the
// request through the write-back job (continued from the job's metadata)
// to the call to the simulated Salesforce over HTTP, with the database
// queries in it; and the request's log line carries the trace id.
func TestCreateCaseIsOneTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewWith(sdktrace.NewSimpleSpanProcessor(exp), config.Default().Tracing)
	var logs logtest.Buffer
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	r := startWith(t, world{webhooks: false, interval: time.Hour, mappings: set, tracing: tp, logs: &logs})

	ctx := context.Background()
	var account string
	require.NoError(t, r.app.Pool().QueryRow(ctx, `SELECT owner_account FROM record
		WHERE object = 'case' AND coalesce(owner_account, '') <> '' ORDER BY source_id LIMIT 1`).Scan(&account))
	_, err = auth.CreateUser(ctx, r.app.Pool(), auth.NewUser{Email: "member@acme.test", Password: staffPassword, AccountID: account, Roles: []string{"member"}})
	require.NoError(t, err)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(r.api+"/auth/login", "application/json",
		strings.NewReader(`{"email":"member@acme.test","password":"`+staffPassword+`"}`))
	require.NoError(t, err)
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	req, _ := http.NewRequest(http.MethodPost, r.api+"/api/v1/cases", bytes.NewReader([]byte(`{"subject":"Traced from the request to the source"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.CSRFHeader, login.CSRF)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The request's span: named after the route, with its status.
	var request sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		for _, s := range exp.GetSpans().Snapshots() {
			if s.Name() == "POST /api/v1/cases" {
				request = s
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "the request's span among %v", spanNames(exp))
	require.Equal(t, trace.SpanKindServer, request.SpanKind())
	require.Contains(t, request.Attributes(), attribute.Int("http.response.status_code", http.StatusAccepted))
	require.Contains(t, request.Attributes(), attribute.String("http.route", "/api/v1/cases"))
	tid := request.SpanContext().TraceID()

	// The job's span, in the same trace; the source call below it.
	var job, call sdktrace.ReadOnlySpan
	var inTrace []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		inTrace = inTrace[:0]
		job, call = nil, nil
		for _, s := range exp.GetSpans().Snapshots() {
			if s.SpanContext().TraceID() != tid {
				continue
			}
			inTrace = append(inTrace, s)
			if s.Name() == "river.work writeback_apply" {
				job = s
			}
		}
		if job == nil {
			return false
		}
		for _, s := range inTrace {
			if s.SpanKind() == trace.SpanKindClient && strings.HasPrefix(s.Name(), "salesforce ") && below(inTrace, s, job) {
				call = s
			}
		}
		return call != nil
	}, 30*time.Second, 20*time.Millisecond, "the job's span and its call to the source, in the request's trace")
	require.True(t, below(inTrace, job, request), "the job continues the request's trace through its metadata")
	require.Equal(t, trace.SpanKindConsumer, job.SpanKind())
	require.Contains(t, call.Attributes(), attribute.String("connection", "salesforce"))

	var requestQueries, jobQueries int
	for _, s := range inTrace {
		if !strings.HasPrefix(s.Name(), "db ") {
			continue
		}
		switch {
		case below(inTrace, s, job):
			jobQueries++
		case below(inTrace, s, request):
			requestQueries++
		}
	}
	require.Positive(t, requestQueries, "the request's queries are spans")
	require.Positive(t, jobQueries, "the job's queries are spans")

	// The request's log line carries the trace id.
	var found bool
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"http request"`) && strings.Contains(line, `"path":"/api/v1/cases"`) {
			found = strings.Contains(line, `"trace_id":"`+tid.String()+`"`)
			break
		}
	}
	require.True(t, found, "the request's log line carries its trace id")
}

// below reports whether s descends from ancestor among spans.
func below(spans []sdktrace.ReadOnlySpan, s, ancestor sdktrace.ReadOnlySpan) bool {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, x := range spans {
		byID[x.SpanContext().SpanID()] = x
	}
	for cur := s; cur != nil; {
		p := cur.Parent().SpanID()
		if p == ancestor.SpanContext().SpanID() {
			return true
		}
		cur = byID[p]
	}
	return false
}

func spanNames(exp *tracetest.InMemoryExporter) []string {
	var names []string
	for _, s := range exp.GetSpans().Snapshots() {
		if s.SpanKind() == trace.SpanKindServer {
			names = append(names, s.Name())
		}
	}
	return names
}
