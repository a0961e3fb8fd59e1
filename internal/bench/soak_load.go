package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
)

// soakRoute is a read of the mixed load: a portal page (as a browser asks
// for it) or an API call. {id} is one of the user's cases.
type soakRoute struct {
	path string
	page bool
}

func (r soakRoute) label() string { return "GET " + r.path }

var soakReads = []soakRoute{
	{"/", true}, {"/cases", true}, {"/cases/{id}", true}, {"/invoices", true}, {"/orders", true},
	{"/approvals", true}, {"/notifications", true},
	{"/api/v1/cases", false}, {"/api/v1/cases/{id}", false}, {"/api/v1/invoices", false},
	{"/api/v1/orders", false}, {"/api/v1/approvals", false}, {"/api/v1/me/notifications", false},
}

// The writes' labels, as the reads' are their paths.
const (
	routeCreateCase = "POST /api/v1/cases"
	routeComment    = "POST /api/v1/cases/{id}/comments"
	routeUpload     = "POST /api/v1/cases/{id}/files"
)

// soakUser is a signed-in demo customer and what the load does as them.
type soakUser struct {
	email string
	sess  session
	reads []soakRoute // the reads that answered 200 at the start
	// cases are the user's open cases at the start: what they read,
	// comment on and attach files to.
	mu    sync.Mutex
	cases []string
}

func (u *soakUser) randomCase() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.cases) == 0 {
		return ""
	}
	return u.cases[rand.IntN(len(u.cases))]
}

// soakLoad is the load generator: users, the serve processes it spreads
// requests over (round robin, as a load balancer would), and what it saw.
type soakLoad struct {
	serves []string
	client *http.Client
	next   atomic.Uint64
	users  []*soakUser
	stats  *routeStats
	seq    atomic.Int64
	// shed counts the requests not sent because soakInFlight were still
	// waiting for their answers: the load backs off a server that falls
	// behind instead of burying it.
	shed atomic.Int64

	mu      sync.Mutex
	actions []int64 // the actions the load's writes were answered with
}

func newSoakLoad(serves []string) *soakLoad {
	return &soakLoad{serves: serves, stats: newRouteStats(),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// signIn signs in each demo customer and finds what each may read and
// which open cases they see.
func (l *soakLoad) signIn(ctx context.Context, users []devenv.User) error {
	for _, du := range users {
		if du.Account == "" {
			continue // staff
		}
		sess, err := apiSession(ctx, l.base(), du.Email, du.Password)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", du.Email, err)
		}
		u := &soakUser{email: du.Email, sess: sess}
		if u.cases, err = l.openCases(ctx, u); err != nil {
			return err
		}
		for _, r := range soakReads {
			if strings.Contains(r.path, "{id}") {
				if len(u.cases) > 0 {
					u.reads = append(u.reads, r)
				}
				continue
			}
			if status, _, err := l.get(ctx, u, r); err == nil && status == http.StatusOK {
				u.reads = append(u.reads, r)
			}
		}
		l.users = append(l.users, u)
	}
	if len(l.users) == 0 {
		return fmt.Errorf("bench: no demo customer to load the portal with")
	}
	return nil
}

// openCases lists the user's cases that are not closed (none when their
// roles show no cases).
func (l *soakLoad) openCases(ctx context.Context, u *soakUser) ([]string, error) {
	status, body, err := l.get(ctx, u, soakRoute{path: "/api/v1/cases?limit=100"})
	if err != nil || status != http.StatusOK {
		return nil, err
	}
	var list struct {
		Data []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("bench: the cases of %s: %w", u.email, err)
	}
	var ids []string
	for _, c := range list.Data {
		if c.Status != "closed" {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

func (l *soakLoad) base() string { return l.serves[l.next.Add(1)%uint64(len(l.serves))] }

// writers are the users who have cases to comment on.
func (l *soakLoad) writers() int {
	n := 0
	for _, u := range l.users {
		if u.randomCase() != "" {
			n++
		}
	}
	return n
}

// soakInFlight bounds the load's requests waiting for an answer.
const soakInFlight = 32

// run sends requests at rate per second, spread over the users, until
// ctx ends; it waits for the requests in flight.
func (l *soakLoad) run(ctx context.Context, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	slots := make(chan struct{}, soakInFlight)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			l.shed.Add(1)
			continue
		}
		u := l.users[rand.IntN(len(l.users))]
		// Requests finish even when the run ends: a request cut off would
		// be the load generator's error, not the server's.
		wg.Go(func() {
			defer func() { <-slots }()
			l.one(context.WithoutCancel(ctx), u)
		})
	}
}

// one is one request of u: 86 in 100 reads, 4 new cases, 6 comments, 4
// uploads (for users who see cases).
func (l *soakLoad) one(ctx context.Context, u *soakUser) {
	id := u.randomCase()
	n := rand.IntN(100)
	switch {
	case id != "" && n < 4:
		l.write(ctx, u, routeCreateCase, "/api/v1/cases", "application/json",
			fmt.Sprintf(`{"subject":"Soak case %d","description":"Opened by the soak."}`, l.seq.Add(1)))
	case id != "" && n < 10:
		l.write(ctx, u, routeComment, "/api/v1/cases/"+id+"/comments", "application/json",
			fmt.Sprintf(`{"body":"Soak comment %d"}`, l.seq.Add(1)))
	case id != "" && n < 14:
		k := l.seq.Add(1)
		l.write(ctx, u, routeUpload, fmt.Sprintf("/api/v1/cases/%s/files?filename=soak-%d.txt", id, k), "text/plain",
			fmt.Sprintf("Soak upload %d.\n%s", k, strings.Repeat("portico soak ", 200)))
	default:
		r := u.reads[rand.IntN(len(u.reads))]
		path := strings.Replace(r.path, "{id}", id, 1)
		t0 := time.Now()
		status, body, err := l.get(ctx, u, soakRoute{path: path, page: r.page})
		l.stats.record(r.label(), time.Since(t0), answerErr(http.StatusOK, status, body, err))
	}
}

// get reads path as u; a page as a browser asks for it.
func (l *soakLoad) get(ctx context.Context, u *soakUser, r soakRoute) (int, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.base()+r.path, nil)
	if r.page {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
	}
	return l.send(req, u)
}

// write posts body as u and keeps the action it was answered with.
func (l *soakLoad) write(ctx context.Context, u *soakUser, label, path, ctype, body string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set(auth.CSRFHeader, u.sess.csrf)
	t0 := time.Now()
	status, answer, err := l.send(req, u)
	err = answerErr(http.StatusAccepted, status, answer, err)
	l.stats.record(label, time.Since(t0), err)
	if err != nil {
		return
	}
	var act struct {
		ID     string `json:"id"`
		Action struct {
			ID string `json:"id"`
		} `json:"action"` // an upload's
	}
	_ = json.Unmarshal(answer, &act)
	id, perr := strconv.ParseInt(act.ID+act.Action.ID, 10, 64)
	if perr != nil {
		l.stats.record(label, 0, &answerError{status: status, body: "no action id in the answer: " + string(answer)})
		return
	}
	l.mu.Lock()
	l.actions = append(l.actions, id)
	l.mu.Unlock()
}

func (l *soakLoad) send(req *http.Request, u *soakUser) (int, []byte, error) {
	req.Header.Set("Cookie", u.sess.cookie)
	res, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

func (l *soakLoad) actionIDs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.actions)
}

// answerError is an answer the load did not expect.
type answerError struct {
	status int
	body   string
}

func (e *answerError) Error() string { return fmt.Sprintf("%d %.200s", e.status, e.body) }

// answerErr is nil when the answer is the one wanted.
func answerErr(want, status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != want {
		return &answerError{status: status, body: string(bytes.TrimSpace(body))}
	}
	return nil
}

// staffEdits plays the back office until ctx ends: every interval a staff
// user moves one of the users' open cases to another open status (a
// notification to its people) and every third time also replies on it.
// It returns the replies it made.
func staffEdits(ctx context.Context, sim *fakesource.Sim, l *soakLoad, every time.Duration, errs *routeStats) int {
	statuses := []string{"New", "Working", "Escalated", "Waiting on Customer"}
	tick := time.NewTicker(every)
	defer tick.Stop()
	replies := 0
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return replies
		case <-tick.C:
		}
		id := l.users[rand.IntN(len(l.users))].randomCase()
		if id == "" || strings.HasPrefix(id, "pending:") {
			continue
		}
		t0 := time.Now()
		err := sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": statuses[i%len(statuses)]})
		errs.record("staff edit", time.Since(t0), err)
		if i%3 == 0 {
			t0 = time.Now()
			_, err := sim.CreateRecord(fakesource.Salesforce, "CaseComment", map[string]any{
				"ParentId": id, "CommentBody": fmt.Sprintf("Staff reply %d", i), "IsPublished": true})
			errs.record("staff reply", time.Since(t0), err)
			if err == nil {
				replies++
			}
		}
	}
}
