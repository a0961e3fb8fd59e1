package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/web/webtest"
	"github.com/porticohq/portico/internal/writeback"
)

// simulated is the portal writing back to the simulated CRM
// (internal/fakesource): the write-back service with a Salesforce
// connector over it. No worker runs on its own: the test works each job
// when it has changed the source, as the worker process would.
type simulated struct {
	sim  *fakesource.Sim
	srv  *httptest.Server
	srcs *sources.Sources
	set  *mapping.Set
	pool *pgxpool.Pool
	svc  *writeback.Service
	work *rivertest.Worker[writeback.ApplyArgs, pgx.Tx]
	// jobs is each action's newest write-back job.
	mu   sync.Mutex
	jobs map[int64]*rivertype.JobRow
	// ahead is how far the simulated CRM's clock runs ahead of the time
	// (staffEdit moves it on).
	ahead atomic.Int64
}

// withSimulator makes setup's write-back the one of s.
func withSimulator(t *testing.T, s *simulated) func(*options) {
	s.sim, s.srv = fakesourcetest.Start(t, fakesource.Options{Seed: 7, Records: 300,
		Now: func() time.Time { return time.Now().Add(time.Duration(s.ahead.Load())) }})
	return func(o *options) {
		o.writeback = func(t *testing.T, pool *pgxpool.Pool, set *mapping.Set) *writeback.Service {
			s.build(t, pool, set)
			return s.svc
		}
	}
}

func (s *simulated) build(t *testing.T, pool *pgxpool.Pool, set *mapping.Set) {
	t.Helper()
	s.pool, s.set, s.jobs = pool, set, map[int64]*rivertype.JobRow{}
	cr := s.sim.Credentials(s.srv.URL).Salesforce
	conn := config.DefaultConnection(config.ConnectionConfig{
		Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken,
		Retry: config.RetryConfig{Max: 1, WaitMin: 5 * time.Millisecond, WaitMax: 20 * time.Millisecond}, RequestTimeout: 5 * time.Second,
	})
	var err error
	s.srcs, err = sources.Open(context.Background(), sources.Options{Connections: []config.ConnectionConfig{conn}, Registry: builtin.Registry(),
		Credentials: &conntest.MemoryCredentials{}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	var rc *river.Client[pgx.Tx]
	s.svc = writeback.New(writeback.Options{Pool: pool, Mappings: set, Connectors: s.srcs.Connectors(), Health: s.srcs,
		Files:  files.New(files.Options{Pool: pool}),
		Logger: slog.New(slog.DiscardHandler), Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			res, err := rc.InsertTx(ctx, tx, args, opts)
			if a, ok := args.(writeback.ApplyArgs); ok && err == nil {
				s.mu.Lock()
				s.jobs[a.ActionID] = res.Job
				s.mu.Unlock()
			}
			return res, err
		}})
	jreg := jobs.NewRegistry()
	writeback.Register(jreg, s.svc)
	rc, err = jobs.NewClient(pool, config.Default().River, jreg, jobs.InsertOnly, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	s.work = rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, &writeback.Worker{Service: s.svc})
}

// contact is seeded contact i of the simulated CRM and its account, in
// the cache as a sync leaves it.
func (s *simulated) contact(t *testing.T, i int) (contact, account string) {
	t.Helper()
	contact, err := s.sim.SeedID(fakesource.Salesforce, "Contact", i)
	require.NoError(t, err)
	rec, err := s.sim.Record(fakesource.Salesforce, "Contact", contact)
	require.NoError(t, err)
	sy := syncer.New(syncer.Options{Pool: s.pool, TenantID: 1, Connectors: s.srcs.Connectors(), Mappings: s.set})
	require.NoError(t, sy.Refresh(context.Background(), "salesforce", "Contact", contact))
	return contact, rec["AccountId"].(string)
}

// staffEdit changes a record at the source through the simulator's HTTP
// control API, as someone at the company would in the CRM, a few seconds
// after the portal read it: Salesforce compares If-Unmodified-Since to the
// second, so an edit within the second of the read would not be newer.
func (s *simulated) staffEdit(t *testing.T, object, id string, fields map[string]any) {
	t.Helper()
	s.ahead.Add(int64(2 * time.Second))
	body, err := json.Marshal(fields)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPatch, s.srv.URL+"/_sim/salesforce/"+object+"/"+id, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// field is a field of a record at the source.
func (s *simulated) field(t *testing.T, object, id, name string) any {
	t.Helper()
	rec, err := s.sim.Record(fakesource.Salesforce, object, id)
	require.NoError(t, err)
	return rec[name]
}

// apply works action id's write-back job once, as the worker does, and
// returns the action's state after.
func (s *simulated) apply(t *testing.T, id int64) string {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		s.mu.Lock()
		job := s.jobs[id]
		s.mu.Unlock()
		require.NotNil(t, job, "no write-back job for action %d", id)
		res, err := s.work.WorkJob(ctx, t, tx, job)
		require.NoError(t, err)
		require.Equal(t, river.EventKindJobCompleted, res.EventKind)
		return nil
	}))
	var state string
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT state FROM action WHERE id = $1`, id).Scan(&state))
	return state
}

// lastActionOf is the newest action of kind by the user with email.
func (e *env) lastActionOf(t *testing.T, email, kind string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT a.id FROM action a JOIN auth_user u ON u.id::text = a.user_id
		WHERE a.kind = $2 AND lower(u.email) = $1 ORDER BY a.id DESC LIMIT 1`, email, kind).Scan(&id))
	return id
}

// choose presses one of a form's buttons: with JavaScript htmx sends it,
// without the browser loads the next document.
func choose(t *testing.T, p *webtest.Page, button, sel, wait string) {
	t.Helper()
	if p.JavaScript() {
		p.Click(button)
	} else {
		require.Equal(t, http.StatusOK, p.ClickNavigate(button))
	}
	p.WaitText(sel, wait)
}

// TestBrowserResolveConflictFromTheSimulator: the user changes their
// details; before the write-back reaches the CRM, someone changes the same
// contact there (the simulator's HTTP edit API), so the write meets a newer
// version and becomes a conflict. The user finds it from the status hub,
// sees both sides, and keeps theirs (the write-back applies it over the
// current version) or the source's (it is withdrawn and the CRM keeps
// its value). With JavaScript and without.
func TestBrowserResolveConflictFromTheSimulator(t *testing.T) {
	t.Parallel()
	s := &simulated{}
	e := setup(t, withSimulator(t, s))
	base := e.srv.URL
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			contact, account := s.contact(t, 2*i)
			email := fmt.Sprintf("conny%d@customer.test", i)
			_, err := auth.CreateUser(context.Background(), e.pool, auth.NewUser{Email: email, Password: password,
				Roles: []string{auth.RoleMember}, AccountID: account, ContactID: contact, HashParams: fastHash})
			require.NoError(t, err)
			p := webtest.New(t, mode.opts...)
			signInForm(t, p, base, email)

			for _, tc := range []struct {
				choice, button, notice, stands string
			}{
				{"keep_mine", "Keep mine", "Your change is being sent again.", "mine"},
				{"keep_theirs", "Keep theirs", "You withdrew your change; the current version stands.", "theirs"},
			} {
				mine, theirs := "Chief Tester ("+tc.choice+")", "Head of Operations ("+tc.choice+")"
				follow(t, p, `header nav a[href="/profile"]`, "Your profile")
				p.Fill("#f-title", mine)
				send(t, p, `form[action="/profile/contact"]`, "#main .notice", "Your change is being sent.")
				id := e.lastActionOf(t, email, "update_contact")

				// Someone at the company edits the contact first.
				s.staffEdit(t, "Contact", contact, map[string]any{"Title": theirs})
				require.Equal(t, "conflict", s.apply(t, id))
				require.Equal(t, theirs, s.field(t, "Contact", contact, "Title"), "never last-writer-wins")

				// The hub leads to it; the page shows both sides.
				follow(t, p, `header nav a[href="/"]`, "Your overview")
				follow(t, p, fmt.Sprintf(`#actions a[href="/conflicts/%d"]`, id), "Your change met a newer version")
				require.Contains(t, p.Text("tr.differs td.mine"), mine)
				require.Contains(t, p.Text("tr.differs td.theirs"), theirs)
				check(t, p, "conflict-"+tc.choice, 0)

				choose(t, p, `button[name=resolution][value=`+tc.choice+`]`, "#main .notice", tc.notice)
				require.Equal(t, base+"/conflicts?resolved="+tc.choice, p.URL())
				if tc.stands == "mine" {
					require.Equal(t, "applied", s.apply(t, id), "sent again over the current version")
					require.Equal(t, mine, s.field(t, "Contact", contact, "Title"))
				} else {
					state, _ := e.actionState(t, fmt.Sprint(id))
					require.Equal(t, "rejected", state)
					require.Equal(t, theirs, s.field(t, "Contact", contact, "Title"))
				}
				require.Contains(t, p.Text("#main"), "None of your changes is waiting for a decision.")
			}
		})
	}
}

// TestBrowserSyncedDocumentFromTheSimulator: a document attached at the
// source (a seeded ContentVersion of the simulated CRM, published to a
// case) to a case of one account reaches the portal
// by a sync (the syncer fetches the case and the ContentVersion over HTTP
// and maps them: the document belongs to whoever owns the case). On the
// case's page that account's user sees it listed as from Salesforce, and
// its link downloads it read through from the simulator's VersionData.
// Another account's user gets the 404 of a missing record for the case
// page, the document's download and the case's file list.
func TestBrowserSyncedDocumentFromTheSimulator(t *testing.T) {
	t.Parallel()
	s := &simulated{}
	e := setup(t, withSimulator(t, s), func(o *options) {
		o.sourceFiles = func(name string) (connectors.FileReader, bool) {
			fr, ok := s.srcs.Connectors()[name].(connectors.FileReader)
			return fr, ok
		}
	})
	ctx := context.Background()
	// A file the CRM holds on a case: seeded ContentVersion 0, published
	// to one of the seeded cases.
	cvID, err := s.sim.SeedID(fakesource.Salesforce, "ContentVersion", 0)
	require.NoError(t, err)
	cv, err := s.sim.Record(fakesource.Salesforce, "ContentVersion", cvID)
	require.NoError(t, err)
	caseID, name := cv["FirstPublishLocationId"].(string), cv["PathOnClient"].(string)
	size := 0
	switch n := cv["ContentSize"].(type) {
	case int:
		size = n
	case float64:
		size = int(n)
	}
	require.Positive(t, size)
	c, err := s.sim.Record(fakesource.Salesforce, "Case", caseID)
	require.NoError(t, err)
	owner := c["AccountId"].(string)
	other := ""
	for i := 0; other == ""; i++ {
		if id, err := s.sim.SeedID(fakesource.Salesforce, "Account", i); err == nil && id != owner {
			other = id
		}
	}
	sy := syncer.New(syncer.Options{Pool: s.pool, TenantID: 1, Connectors: s.srcs.Connectors(), Mappings: s.set})
	require.NoError(t, sy.Refresh(ctx, "salesforce", "Case", caseID))
	require.NoError(t, sy.Refresh(ctx, "salesforce", "ContentVersion", cvID))

	e.user("owen.owner@customer.test", owner, auth.RoleAccountAdmin)
	e.user("olga.other@customer.test", other, auth.RoleAccountAdmin)
	base := e.srv.URL
	p := webtest.New(t)
	signInForm(t, p, base, "owen.owner@customer.test")
	require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+caseID))
	require.Contains(t, p.Text("#files"), name)
	require.Contains(t, p.Text("#files"), "From Salesforce, synced on")
	href := evalJS[string](t, p, `document.querySelector(`+quote(`#files a[download="`+name+`"]`)+`).getAttribute("href")`)
	require.Equal(t, "/api/v1/cases/"+caseID+"/files/"+cvID, href)
	calls := s.sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0)
	got := fetchJS(t, p, `fetch(`+quote(href)+`).then(async r => { const b = await r.text();
		return r.status + " " + r.headers.get("content-disposition") + " " + b.length + " " + b.slice(0, 16); })`)
	require.Equal(t, fmt.Sprintf("200 attachment; filename=%s %d portico portico ", name, size), got, "the simulator's VersionData")
	require.Eventually(t, func() bool { return s.sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0) == calls+1 },
		5*time.Second, 10*time.Millisecond, "read through from the source (counted once the simulator's handler returns)")
	check(t, p, "synced-document", 0)

	q := webtest.New(t)
	signInForm(t, q, base, "olga.other@customer.test")
	require.Equal(t, http.StatusNotFound, q.Navigate(base+"/cases/"+caseID))
	got = fetchJS(t, q, `Promise.all([fetch(`+quote(href)+`), fetch("/api/v1/cases/`+caseID+`/files")]).then(rs => rs.map(r => r.status).join(" "))`)
	require.Equal(t, "404 404", got, "another account's user: the 404 of a missing one")
	require.Equal(t, calls+1, s.sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0), "nothing read for them")
}
