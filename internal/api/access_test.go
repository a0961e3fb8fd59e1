package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// persona is one kind of user in the access suite and what it may see.
type persona struct {
	name     string
	account  string
	roles    []string
	children bool
	staff    bool
	sees     []string // accounts whose records it may see
}

// TestAccessSuite logs in every role of two accounts and of their parent
// account and tries every endpoint with the ids of every account it must
// not see, plus random list queries: nothing foreign may come back, ever.
// Positive controls (its own records are found) keep the suite honest.
func TestAccessSuite(t *testing.T) {
	t.Parallel()
	e := setup(t, withSigning) // the signing routes answer foreign ids too
	all := []string{Parent, Alpha, Beta}
	var personas []persona
	for _, acc := range []string{Alpha, Beta} {
		for _, role := range []string{"account_admin", "member", "billing", "purchasing"} {
			personas = append(personas, persona{name: role + "@" + acc, account: acc, roles: []string{role}, sees: []string{acc}})
		}
	}
	personas = append(personas,
		persona{name: "parent-admin-with-children", account: Parent, roles: []string{"account_admin"}, children: true, sees: []string{Parent, Alpha}},
		persona{name: "parent-member-without-children", account: Parent, roles: []string{"member", "billing"}, sees: []string{Parent}},
		persona{name: "alpha-admin-with-children", account: Alpha, roles: []string{"account_admin", "purchasing"}, children: true, sees: []string{Alpha}},
	)
	// One submitted action per account, so that foreign action ids are
	// tried too.
	docOn := map[string]string{} // a synced document's record
	for i, acc := range all {
		c := e.user(fmt.Sprintf("submitter%d@example.com", i), acc, []string{"member"}, false, false)
		// And one inbox notice of the submitter's, so that another user's
		// notice ids are tried too.
		e.ids[acc]["notice"] = append(e.ids[acc]["notice"], e.notice(e.userID(fmt.Sprintf("submitter%d@example.com", i)), "N"+acc))
		res := c.post("/api/v1/cases", map[string]any{"subject": "Help " + acc})
		require.Equal(t, http.StatusAccepted, res.code, string(res.body))
		e.ids[acc]["action"] = append(e.ids[acc]["action"], res.json(t)["id"].(string))
		// And one file on the account's first case, so that foreign file
		// ids are tried too.
		up := c.upload("/api/v1/cases/"+e.ids[acc]["case"][0]+"/files", "a.pdf", "application/pdf", pdfBytes)
		require.Equal(t, http.StatusAccepted, up.code, string(up.body))
		e.ids[acc]["file"] = append(e.ids[acc]["file"], up.json(t)["file"].(map[string]any)["id"].(string))
		e.ids[acc]["action"] = append(e.ids[acc]["action"], up.json(t)["action"].(map[string]any)["id"].(string))
		// And documents synced from the source, on that case and on the
		// account, so that foreign documents are tried on every route.
		onCase := fmt.Sprintf("068%s0000000%dAAA", acc[3:4], i)
		onAccount := fmt.Sprintf("068%s0000000%dBBB", acc[3:4], i)
		for doc, to := range map[string]string{onCase: e.ids[acc]["case"][0], onAccount: acc} {
			e.put("salesforce", "ContentVersion", acc, map[string]any{"Id": doc, "SystemModstamp": sfTime(epoch),
				"LastModifiedDate": sfTime(epoch), "Title": "Doc", "PathOnClient": "doc.pdf", "FileType": "PDF",
				"ContentSize": 10, "FirstPublishLocationId": to})
			e.ids[acc]["document"] = append(e.ids[acc]["document"], doc)
			docOn[doc] = to
		}
	}
	personas = append(personas, persona{name: "staff", roles: []string{"operator_admin"}, staff: true, sees: all})
	// One disabled webhook per account: only an account admin manages
	// webhooks, its own account's alone (a parent's admin not its
	// children's), so every other account's is foreign to everyone.
	hooks := map[string]string{}
	for _, acc := range all {
		hooks[acc] = e.foreignHook(acc)
	}
	notFound := []byte(`{"error":{"code":"not_found","message":"no such record"}}` + "\n")
	var attempts, positives atomic.Int64
	var wg sync.WaitGroup
	for i, p := range personas {
		c := e.user(fmt.Sprintf("user%d@example.com", i), p.account, p.roles, p.children, p.staff)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			var foreign, own []string
			for _, acc := range all {
				for _, ids := range e.ids[acc] {
					if slices.Contains(p.sees, acc) {
						own = append(own, ids...)
					} else {
						foreign = append(foreign, ids...)
					}
				}
			}
			// Action and file ids are both small numbers: one that is also
			// the persona's own (its file 3, another's action 3) is not tried.
			foreign = slices.DeleteFunc(foreign, func(id string) bool { return slices.Contains(own, id) })
			// Every detail and write endpoint with every foreign id.
			for _, id := range foreign {
				for _, ep := range []struct{ method, path string }{
					{"GET", "/api/v1/cases/%s"}, {"GET", "/api/v1/orders/%s"}, {"GET", "/api/v1/invoices/%s"},
					{"GET", "/api/v1/approvals/%s"}, {"GET", "/api/v1/actions/%s"},
					{"POST", "/api/v1/cases/%s/comments"}, {"POST", "/api/v1/cases/%s/close"},
					{"POST", "/api/v1/approvals/%s/approve"}, {"POST", "/api/v1/approvals/%s/reject"},
					{"POST", "/api/v1/actions/%s/resolve"},
					{"GET", "/api/v1/files/%s"}, {"GET", "/api/v1/cases/%s/files"}, {"GET", "/api/v1/invoices/%s/files"},
					{"POST", "/api/v1/cases/%s/files"}, {"POST", "/api/v1/invoices/%s/files"},
					{"GET", "/api/v1/cases/%s/document.pdf"}, {"GET", "/api/v1/orders/%s/document.pdf"},
					{"GET", "/api/v1/invoices/%s/document.pdf"}, {"GET", "/api/v1/approvals/%s/document.pdf"},
					{"GET", "/api/v1/approvals/%s/files"}, {"POST", "/api/v1/approvals/%s/sign"},
					{"GET", "/api/v1/approvals/%s/files"}, {"POST", "/api/v1/approvals/%s/files"},
					{"PATCH", "/api/v1/uploads/%s"}, {"DELETE", "/api/v1/uploads/%s"},
					{"POST", "/api/v1/me/notifications/%s/read"}, {"GET", "/api/v1/me/exports/%s"},
				} {
					var body any
					if ep.method == "POST" {
						body = map[string]any{}
						switch ep.path {
						case "/api/v1/cases/%s/comments":
							body = map[string]any{"body": "let me in"}
						case "/api/v1/actions/%s/resolve":
							body = map[string]any{"resolution": "keep_theirs"}
						}
					}
					res := c.do(ep.method, fmt.Sprintf(ep.path, url.PathEscape(id)), body, nil)
					attempts.Add(1)
					if res.code != http.StatusNotFound || string(res.body) != string(notFound) {
						t.Errorf("%s: %s %s answered %d %s", p.name, ep.method, fmt.Sprintf(ep.path, id), res.code, res.body)
					}
				}
				// A synced document's download: on its own (foreign)
				// record, on the persona's own records and profile.
				paths := []string{"/api/v1/me/files/" + url.PathEscape(id)}
				if to, ok := docOn[id]; ok {
					paths = append(paths, "/api/v1/cases/"+url.PathEscape(to)+"/files/"+url.PathEscape(id))
				}
				for _, acc := range p.sees {
					paths = append(paths, "/api/v1/cases/"+e.ids[acc]["case"][0]+"/files/"+url.PathEscape(id),
						"/api/v1/invoices/"+e.ids[acc]["invoice"][0]+"/files/"+url.PathEscape(id))
				}
				for _, path := range paths {
					res := c.get(path)
					attempts.Add(1)
					if res.code != http.StatusNotFound || string(res.body) != string(notFound) {
						t.Errorf("%s: GET %s answered %d %s", p.name, path, res.code, res.body)
					}
				}
			}
			// Every webhook route with every other account's webhook: the
			// one 404 for an account admin, the 403 of a role that manages
			// no webhooks for anyone else, whatever the id.
			admin := !p.staff && slices.Contains(p.roles, "account_admin")
			for acc, id := range hooks {
				if acc == p.account {
					continue
				}
				for _, ep := range []struct{ method, path string }{
					{"GET", "/api/v1/webhooks/%s"}, {"DELETE", "/api/v1/webhooks/%s"}, {"POST", "/api/v1/webhooks/%s/enable"},
					{"POST", "/api/v1/webhooks/%s/rotate-secret"}, {"POST", "/api/v1/webhooks/%s/ping"},
				} {
					res := c.do(ep.method, fmt.Sprintf(ep.path, id), nil, nil)
					attempts.Add(1)
					if admin && (res.code != http.StatusNotFound || string(res.body) != string(notFound)) || !admin && res.code != http.StatusForbidden {
						t.Errorf("%s: %s %s answered %d %s", p.name, ep.method, fmt.Sprintf(ep.path, id), res.code, res.body)
					}
				}
			}
			// Positive control: an account admin lists its own account's
			// webhook, and no other.
			if res := c.get("/api/v1/webhooks"); admin {
				var list struct {
					Data []struct {
						ID string `json:"id"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(res.body, &list))
				if len(list.Data) != 1 || list.Data[0].ID != hooks[p.account] {
					t.Errorf("%s: GET /api/v1/webhooks answered %d %s", p.name, res.code, res.body)
				}
				positives.Add(1)
			}
			// Random list queries: every record returned, and every record
			// embedded in it, belongs to an account the persona sees.
			for range 40 {
				path := randomList(rng)
				res := c.get(path)
				attempts.Add(1)
				if res.code != http.StatusOK {
					if res.code != http.StatusUnprocessableEntity {
						t.Errorf("%s: GET %s answered %d %s", p.name, path, res.code, res.body)
					}
					continue
				}
				var page struct {
					Data []struct {
						ID        string `json:"id"`
						AccountID string `json:"account_id"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(res.body, &page))
				for _, r := range page.Data {
					if slices.Contains(foreign, r.ID) || (r.AccountID != "" && !slices.Contains(p.sees, r.AccountID)) {
						t.Errorf("%s: GET %s leaked %s of %s", p.name, path, r.ID, r.AccountID)
					}
					positives.Add(1)
				}
			}
			// Positive control: the persona's own case lists its synced
			// document (to the roles that see cases).
			for _, acc := range p.sees {
				if !p.staff && !slices.Contains(p.roles, "member") && !slices.Contains(p.roles, "account_admin") {
					break
				}
				res := c.get("/api/v1/cases/" + e.ids[acc]["case"][0] + "/files")
				attempts.Add(1)
				if !strings.Contains(string(res.body), `"origin":"source"`) {
					t.Errorf("%s: GET case files of %s does not list its synced document: %d %s", p.name, acc, res.code, res.body)
				}
				positives.Add(1)
			}
			// Detail pages embed related records: check those too.
			for _, acc := range p.sees {
				for _, id := range e.ids[acc]["case"] {
					checkEmbedded(t, c, p, "/api/v1/cases/"+id, "comments", foreign)
					attempts.Add(1)
				}
				for _, id := range e.ids[acc]["invoice"] {
					checkEmbedded(t, c, p, "/api/v1/invoices/"+id, "payments", foreign)
					attempts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Nobody marked another user's notice read.
	for i := range all {
		u := e.userID(fmt.Sprintf("submitter%d@example.com", i))
		n, err := e.notify.Unread(context.Background(), 1, u)
		require.NoError(t, err)
		require.Equal(t, 1, n, "submitter%d's notice was marked read by someone else", i)
	}
	// Nobody changed another account's webhook.
	var changed, left int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE disabled_at IS NULL
		OR secret <> 'whsec-0123456789abcdef' OR last_delivery_at IS NOT NULL), count(*) FROM notify_webhook`).Scan(&changed, &left))
	require.Zero(t, changed, "a webhook was changed by someone of another account")
	require.Equal(t, len(hooks), left, "a webhook was removed by someone of another account")
	t.Logf("%d attempts, %d records returned, none foreign", attempts.Load(), positives.Load())
	require.GreaterOrEqual(t, attempts.Load(), int64(1000))
	require.Positive(t, positives.Load(), "the suite must see the personas' own records, or it proves nothing")
}

func checkEmbedded(t *testing.T, c *client, p persona, path, key string, foreign []string) {
	res := c.get(path)
	if res.code == http.StatusNotFound {
		return // the role does not reach the object
	}
	if res.code != http.StatusOK {
		t.Errorf("%s: GET %s answered %d %s", p.name, path, res.code, res.body)
		return
	}
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(res.body, &body))
	var related []struct {
		ID        string `json:"id"`
		AccountID string `json:"account_id"`
	}
	require.NoError(t, json.Unmarshal(body[key], &related))
	for _, r := range related {
		if slices.Contains(foreign, r.ID) || !slices.Contains(p.sees, r.AccountID) {
			t.Errorf("%s: GET %s embedded foreign %s of %s", p.name, path, r.ID, r.AccountID)
		}
	}
}

func randomList(rng *rand.Rand) string {
	paths := []string{"/api/v1/cases", "/api/v1/orders", "/api/v1/invoices", "/api/v1/approvals", "/api/v1/articles"}
	q := url.Values{}
	if rng.IntN(2) == 0 {
		q.Set("limit", fmt.Sprint(1+rng.IntN(3)))
	}
	if rng.IntN(3) == 0 {
		q.Set("sort", []string{"updated_at", "-updated_at"}[rng.IntN(2)])
	}
	if rng.IntN(4) == 0 {
		q.Set("status", []string{"new", "in_progress", "closed", "open", "paid", "pending", "completed"}[rng.IntN(7)])
	}
	if rng.IntN(4) == 0 {
		q.Set("updated_since", "2026-03-01T10:00:00Z")
	}
	path := paths[rng.IntN(len(paths))]
	if path == "/api/v1/articles" && rng.IntN(2) == 0 {
		q.Set("q", []string{"router", "invoice", "secrets"}[rng.IntN(3)])
	}
	return path + "?" + q.Encode()
}

// TestForeignAndMissingIDsTakeSimilarTime compares the median time of 404s
// for another account's case and for an id that does not exist: the same
// query runs for both, so the answer's timing does not tell them apart.
func TestForeignAndMissingIDsTakeSimilarTime(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	// Alternate the two, request by request, so that machine noise hits
	// both alike; compare medians.
	var foreignD, missingD []time.Duration
	for range 80 {
		for _, p := range []struct {
			path string
			into *[]time.Duration
		}{{"/api/v1/cases/500B00000000001", &foreignD}, {"/api/v1/cases/500X00000000001", &missingD}} {
			t0 := time.Now()
			res := c.get(p.path)
			*p.into = append(*p.into, time.Since(t0))
			require.Equal(t, http.StatusNotFound, res.code)
		}
	}
	slices.Sort(foreignD)
	slices.Sort(missingD)
	foreign, missing := foreignD[len(foreignD)/2], missingD[len(missingD)/2]
	lo, hi := min(foreign, missing), max(foreign, missing)
	t.Logf("median 404: foreign %s, missing %s", foreign, missing)
	// A gross difference (a second query, a lock) would show as twice the
	// time; noise on a shared machine stays within that or 3 ms.
	require.Less(t, hi-lo, max(lo, 3*time.Millisecond), "foreign %s vs missing %s", foreign, missing)
}

// TestAuthRouteTokenScopes tries every /auth route (auth.RouteScopes,
// which a test holds to the router) with API tokens of every scope, a
// customer's and a staff user's: a token lacking the route's scope, and
// any token on a session-only route, is refused before the route acts.
func TestAuthRouteTokenScopes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.user("ada@alpha.example", Alpha, []string{"account_admin", "member"}, false, false)
	staff := e.user("ops@operator.example", "", []string{"operator_admin"}, false, true)
	var tokens []apiToken
	mint := func(c *client, owner string, scopes ...string) {
		for _, sc := range scopes {
			res := c.post("/auth/tokens", map[string]any{"name": sc, "scopes": []string{sc}})
			require.Equal(t, http.StatusCreated, res.code, string(res.body))
			m := res.json(t)
			tokens = append(tokens, apiToken{owner: owner, scope: sc, secret: m["token"].(string), id: int64(m["id"].(float64))})
		}
	}
	mint(customer, "customer", "portal:read", "portal:write")
	mint(staff, "staff", "portal:read", "portal:write", "admin:read", "admin:write", "sync:run")
	countSessions := func() (sessions, revoked int) {
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM auth_session),
			(SELECT count(*) FROM auth_api_token WHERE revoked_at IS NOT NULL)`).Scan(&sessions, &revoked))
		return sessions, revoked
	}
	sessionsBefore, _ := countSessions()
	anon := &client{e: e, http: &http.Client{}}
	tried := 0
	for route, access := range auth.RouteScopes() {
		if access == auth.AccessPublic {
			continue
		}
		method, pattern, _ := strings.Cut(route, " ")
		for _, tok := range tokens {
			// An {id} names a sibling token of the same owner.
			path := "/auth" + strings.ReplaceAll(pattern, "{id}", fmt.Sprint(tok.sibling(tokens)))
			var body any
			if method == http.MethodPost {
				body = map[string]any{}
			}
			res := anon.do(method, path, body, http.Header{"Authorization": {"Bearer " + tok.secret}})
			tried++
			refused := res.code == http.StatusForbidden && strings.Contains(string(res.body), `"insufficient_scope"`)
			if allowed := access == tok.scope; refused == allowed {
				t.Errorf("%s with a %s %s token answered %d %s (the route needs %s)", route, tok.owner, tok.scope, res.code, res.body, access)
			}
		}
	}
	require.Greater(t, tried, 50)
	sessions, revoked := countSessions()
	require.Equal(t, sessionsBefore, sessions, "no token logged anyone out")
	require.Zero(t, revoked, "no token revoked another")
}

type apiToken struct {
	owner, scope, secret string
	id                   int64
}

// sibling is the id of another token of t's owner.
func (t apiToken) sibling(all []apiToken) int64 {
	for _, o := range all {
		if o.owner == t.owner && o.id != t.id {
			return o.id
		}
	}
	return t.id
}

// inviter is a user of the invitation suite and the rights it holds.
type inviter struct {
	name     string
	account  string
	roles    []string
	children bool
	staff    bool
}

// TestInvitationAccessSuite has every kind of user invite with every
// invitation field varied in turn (each role, see_child_accounts, staff,
// each account, each account's contacts): an invitation is accepted only
// when it grants rights the inviter holds, in the inviter's account, with
// a contact of the account invited into. Every invitee accepted is then
// logged in and must see nothing its inviter does not.
func TestInvitationAccessSuite(t *testing.T) {
	t.Parallel()
	e := setup(t)
	contactAccount := map[string]string{"003NOPE0000000000": "none"}
	for _, acc := range []string{Parent, Alpha, Beta} {
		for _, id := range []string{"003" + acc[3:], "003" + acc[3:4] + "N0000000002AAA"} {
			e.put("salesforce", "Contact", acc, sfContact(id, acc))
			contactAccount[id] = acc
		}
	}
	inviters := []inviter{
		{name: "parent-admin-with-children", account: Parent, roles: []string{"account_admin"}, children: true},
		{name: "parent-admin-billing", account: Parent, roles: []string{"account_admin", "billing"}},
		{name: "alpha-admin", account: Alpha, roles: []string{"account_admin", "member", "purchasing"}, children: true},
		{name: "beta-admin", account: Beta, roles: []string{"account_admin", "member"}},
		{name: "alpha-member", account: Alpha, roles: []string{"member", "billing"}},
		{name: "staff", roles: []string{"operator_admin"}, staff: true},
	}
	type variant struct {
		name  string
		set   map[string]any
		grant func(iv inviter, account string) bool // accepted?
	}
	holds := func(role string) func(inviter, string) bool {
		// By name, or because the mappings give the role nothing the
		// inviter's roles do not reach (an account admin sees every
		// object, so it may invite a member); checkInvitee then shows
		// the invitee sees nothing more than its inviter.
		return func(iv inviter, _ string) bool {
			return iv.staff || slices.Contains(iv.roles, role) || e.set.Covers(iv.roles, role)
		}
	}
	variants := []variant{{name: "base", set: map[string]any{}, grant: func(inviter, string) bool { return true }}}
	for _, role := range auth.AccountRoles {
		variants = append(variants, variant{name: "role " + role, set: map[string]any{"roles": []string{role}}, grant: holds(role)})
	}
	variants = append(variants,
		variant{name: "role operator_admin", set: map[string]any{"roles": []string{"operator_admin"}}, grant: func(inviter, string) bool { return false }},
		variant{name: "see_child_accounts", set: map[string]any{"see_child_accounts": true},
			grant: func(iv inviter, _ string) bool { return iv.staff || iv.children }},
		variant{name: "staff", set: map[string]any{"staff": true, "roles": nil, "account_id": nil},
			grant: func(iv inviter, _ string) bool { return iv.staff }},
	)
	for _, acc := range []string{Parent, Alpha, Beta} {
		variants = append(variants, variant{name: "account " + acc, set: map[string]any{"account_id": acc},
			grant: func(iv inviter, _ string) bool { return iv.staff || iv.account == acc }})
	}
	for id, acc := range contactAccount {
		variants = append(variants, variant{name: "contact " + id, set: map[string]any{"contact_id": id},
			grant: func(_ inviter, account string) bool { return acc == account }})
	}
	var accepted, refused int
	for i, iv := range inviters {
		c := e.user(fmt.Sprintf("inviter%d@example.com", i), iv.account, iv.roles, iv.children, iv.staff)
		canInvite := iv.staff || slices.Contains(iv.roles, "account_admin")
		for j, v := range variants {
			body := map[string]any{"email": fmt.Sprintf("invitee%d-%d@example.com", i, j), "roles": []string{iv.roles[0]}}
			account := iv.account
			if iv.staff {
				body["roles"], body["account_id"], account = []string{"member"}, Alpha, Alpha
			}
			for k, val := range v.set {
				if val == nil {
					delete(body, k)
				} else {
					body[k] = val
				}
			}
			want := canInvite && v.grant(iv, account)
			res := c.post("/auth/invitations", body)
			switch {
			case want && res.code != http.StatusCreated:
				t.Errorf("%s, %s: answered %d %s, want 201", iv.name, v.name, res.code, res.body)
			case !want && res.code != http.StatusForbidden && res.code != http.StatusUnprocessableEntity:
				t.Errorf("%s, %s: answered %d %s, want 403 or 422", iv.name, v.name, res.code, res.body)
			case !want:
				refused++
			default:
				accepted++
				checkInvitee(t, e, c, iv, body["email"].(string))
			}
		}
	}
	t.Logf("%d invitations accepted, %d refused", accepted, refused)
	var users int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user`).Scan(&users))
	require.Equal(t, len(inviters)+accepted, users, "a refused invitation created no user")
	require.Positive(t, accepted)
	require.Greater(t, refused, accepted/2)
	// An account admin holding no other role invites a member: it sees
	// everything a member does.
	admin := e.user("bare-admin@example.com", Beta, []string{"account_admin"}, false, false)
	res := admin.post("/auth/invitations", map[string]any{"email": "new-member@example.com", "roles": []string{"member", "billing"}})
	require.Equal(t, http.StatusCreated, res.code, "%s", res.body)
	checkInvitee(t, e, admin, inviter{name: "bare-admin", account: Beta, roles: []string{"account_admin"}}, "new-member@example.com")
}

// checkInvitee activates an invited customer user, logs it in, and checks
// that every record it can list its inviter can list too.
func checkInvitee(t *testing.T, e *env, inv *client, iv inviter, email string) {
	t.Helper()
	hash, err := auth.HashPassword(password, fastHash)
	require.NoError(t, err)
	var staff bool
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`UPDATE auth_user SET status = 'active', password_hash = $2 WHERE email = $1 RETURNING staff`, email, hash).Scan(&staff))
	if staff || iv.staff {
		return // staff see everything; an invitation by staff may grant anything
	}
	c := e.login(email)
	for _, list := range []string{"/api/v1/cases", "/api/v1/orders", "/api/v1/invoices", "/api/v1/approvals"} {
		for _, id := range listedIDs(t, c, list) {
			if !slices.Contains(listedIDs(t, inv, list), id) {
				t.Errorf("%s invited %s, who sees %s in %s and the inviter does not", iv.name, email, id, list)
			}
		}
	}
}

func listedIDs(t *testing.T, c *client, path string) []string {
	t.Helper()
	res := c.get(path + "?limit=200")
	if res.code != http.StatusOK {
		return nil // the role does not reach the object
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(res.body, &page))
	var ids []string
	for _, r := range page.Data {
		ids = append(ids, r.ID)
	}
	return ids
}

func sfContact(id, account string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Contact"}, "Id": id, "AccountId": account,
		"FirstName": "Ada", "LastName": "Contact " + id, "Email": strings.ToLower(id) + "@example.com",
		"SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch)}
}
