package devenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// start runs the dev environment in dir until the returned stop is called.
func start(t *testing.T, dir string) (devenv.Info, func()) {
	t.Helper()
	return startOut(t, dir, io.Discard)
}

// startOut is start with dev's own output going to out.
func startOut(t *testing.T, dir string, out io.Writer) (devenv.Info, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Dev.Dir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Dev.Records = 300
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan devenv.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- devenv.Run(ctx, &cfg, deps(t), slog.New(slog.DiscardHandler), out, func(i devenv.Info) { readyc <- i })
	}()
	select {
	case info := <-readyc:
		return info, func() {
			cancel()
			require.NoError(t, <-done)
		}
	case err := <-done:
		cancel()
		t.Fatalf("dev environment failed to start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("dev environment did not start within 60s")
	}
	return devenv.Info{}, nil
}

func TestDevStartsStopsAndRestartsOnTheSameData(t *testing.T) {
	// Not parallel: it owns a whole cluster and checks its processes.
	dir, err := os.MkdirTemp("", "portico-devenv-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // the server user must reach it
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()

	var out logtest.Buffer
	info, stop := startOut(t, dir, &out)
	// Nothing installs portico on the PATH: the hint names a command that runs.
	require.Contains(t, out.String(), "other commands: go run ./cmd/portico --config "+filepath.Join(dir, "dev.yaml"))
	// It opens on the portal, with the demo logins.
	require.Contains(t, out.String(), "Portal:     "+info.APIURL+"/ ")
	for _, u := range info.Users {
		require.Contains(t, out.String(), u.Email)
	}
	require.Contains(t, out.String(), "Demo users: password "+info.Users[0].Password, "the demo logins are printed with their password")
	require.FileExists(t, filepath.Join(dir, "dev.json"))
	require.FileExists(t, filepath.Join(dir, "dev.yaml"))
	var onDisk devenv.Info
	raw, err := os.ReadFile(filepath.Join(dir, "dev.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &onDisk))
	require.Equal(t, info.APIURL, onDisk.APIURL)
	require.NotEmpty(t, onDisk.AdminToken)
	require.Equal(t, os.Getpid(), onDisk.PID, "dev.json names the process to signal")

	requireStatus(t, info.APIURL+"/readyz", "", http.StatusOK)
	require.NotEmpty(t, info.SimURL, "the simulators run in process")
	require.Equal(t, []string{"salesforce", "accounting", "inventory"}, info.Connections)
	require.Eventually(t, func() bool { return syncedCases(t, info) > 0 }, 60*time.Second, 100*time.Millisecond,
		"the first sync fills the cache")
	requireOwnersResolved(t, info)
	caseID := requireDemoUsers(t, info, true)
	require.NotEmpty(t, caseID)
	requireStatus(t, info.APIURL+"/admin/riverui", "", http.StatusUnauthorized)
	requireStatus(t, info.APIURL+"/admin/riverui/", info.AdminToken, http.StatusOK)

	// dev.yaml reaches the running environment.
	cfg, err := config.Load(config.Options{File: filepath.Join(dir, "dev.yaml"), Env: []string{}, ConnectionTypes: builtin.Registry().Types()})
	require.NoError(t, err)
	require.Equal(t, info.DatabaseURL, cfg.DatabaseURL)
	require.Equal(t, info.AdminToken, cfg.Admin.Token)
	// The simulated Salesforce posts its outbound messages to
	// /hooks/salesforce/<webhook_secret>, and the org id must match.
	sf, ok := cfg.Connection("salesforce")
	require.True(t, ok)
	require.GreaterOrEqual(t, len(sf.WebhookSecret), 16)
	require.Len(t, sf.Realm, 18)
	requireWebhooksDelivered(t, info)

	conn, err := pgx.Connect(ctx, info.DatabaseURL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO tenant (slug, name) VALUES ('kept', 'Kept across restarts')`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	pid := serverPID(t, dir)
	stop()
	require.False(t, alive(pid), "postgres (pid %d) is gone after stop", pid)
	require.NoFileExists(t, filepath.Join(dir, "dev.json"), "dev.json does not outlive the environment")
	require.NoFileExists(t, filepath.Join(dir, "dev.yaml"), "nor does dev.yaml")

	info2, stop2 := start(t, dir)
	defer stop2()
	require.Equal(t, info.AdminToken, info2.AdminToken, "the admin token survives a restart")
	require.Equal(t, info.Users, info2.Users, "the demo logins survive a restart")
	requireDemoUsers(t, info2, false)

	// The simulated CRM kept the case opened before the restart: it is
	// there at the source, and closing it reaches the source.
	requireStatus(t, info2.SimURL+"/_sim/salesforce/Case/"+caseID, "", http.StatusOK)
	member := info2.Users[slices.IndexFunc(info2.Users, func(u devenv.User) bool { return slices.Contains(u.Roles, "member") })]
	c, jar := login(t, info2, member)
	act := submit(t, info2, c, jar, "/api/v1/cases/"+caseID+"/close", "")
	require.Equal(t, "applied", act.State, "closing a case created before the restart: %s", act.Message)
	conn, err = pgx.Connect(ctx, info2.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var name string
	require.NoError(t, conn.QueryRow(ctx, `SELECT name FROM tenant WHERE slug = 'kept'`).Scan(&name))
	require.Equal(t, "Kept across restarts", name)
}

func deps(t *testing.T) app.Deps {
	t.Helper()
	reg := builtin.Registry()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	return app.Deps{Connectors: reg, Mappings: set}
}

// syncedCases reads the admin sync view.
func syncedCases(t *testing.T, info devenv.Info) int64 {
	t.Helper()
	var out struct {
		Connections []struct {
			Connection string
			Objects    []struct {
				Object  string
				Records int64
			}
		}
	}
	adminSync(t, info, &out)
	for _, c := range out.Connections {
		for _, o := range c.Objects {
			if c.Connection == "salesforce" && o.Object == "Case" {
				return o.Records
			}
		}
	}
	return 0
}

func requireStatus(t *testing.T, url, token string, want int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, url)
}

func serverPID(t *testing.T, dir string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid"))
	require.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(string(raw), &pid)
	require.NoError(t, err)
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// requireDemoUsers logs in as every demo user: two customer accounts, one
// with a parent account, and a staff user; each sees its own account.
// With write, a member also opens a case that must reach the CRM; its
// source id is returned.
func requireDemoUsers(t *testing.T, info devenv.Info, write bool) string {
	t.Helper()
	accounts := map[string]bool{}
	staff := 0
	caseID := ""
	for _, u := range info.Users {
		if u.Account == "" {
			staff++
		} else {
			accounts[u.Account] = true
		}
		c, jar := login(t, info, u)
		require.Eventually(t, func() bool {
			resp, err := c.Get(info.APIURL + "/api/v1/me")
			require.NoError(t, err)
			defer resp.Body.Close()
			var me struct {
				Account *struct{ ID string } `json:"account"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
			return u.Account == "" || me.Account != nil && me.Account.ID == u.Account
		}, 30*time.Second, 100*time.Millisecond, "%s sees its account", u.Email)
		if write && slices.Contains(u.Roles, "member") && caseID == "" {
			act := submit(t, info, c, jar, "/api/v1/cases", `{"subject":"The demo printer is on fire"}`)
			require.Equal(t, "applied", act.State, "the case reaches the CRM")
			require.NotNil(t, act.ResultID)
			caseID = *act.ResultID
		}
	}
	require.Equal(t, 1, staff)
	require.Len(t, accounts, 3, "two customer accounts and a parent")
	return caseID
}

// login signs a demo user in.
func login(t *testing.T, info devenv.Info, u devenv.User) (*http.Client, *cookiejar.Jar) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"email": u.Email, "password": u.Password})
	resp, err := c.Post(info.APIURL+"/auth/login", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u.Email)
	return c, jar
}

type action struct {
	ID, State, Message string
	ResultID           *string `json:"result_id"`
}

// submit posts a customer request and waits until its action settles.
func submit(t *testing.T, info devenv.Info, c *http.Client, jar *cookiejar.Jar, path, body string) action {
	t.Helper()
	u, err := url.Parse(info.APIURL)
	require.NoError(t, err)
	csrf := ""
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "portico_csrf" {
			csrf = ck.Value
		}
	}
	req, err := http.NewRequest(http.MethodPost, info.APIURL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	require.NoError(t, err)
	var act action
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&act))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, path)
	require.Eventually(t, func() bool {
		resp, err := c.Get(info.APIURL + "/api/v1/actions/" + act.ID)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&act))
		return act.State != "pending" && act.State != "sending"
	}, 30*time.Second, 100*time.Millisecond, "%s settles (last state %s)", path, act.State)
	return act
}

// requireWebhooksDelivered: the simulators' notices (the demo case opened
// above among them) all reach the API, none refused.
func requireWebhooksDelivered(t *testing.T, info devenv.Info) {
	t.Helper()
	var st struct {
		Webhooks struct{ Sent, Delivered, Failed int }
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(info.SimURL + "/_sim/stats")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		return st.Webhooks.Sent > 0 && st.Webhooks.Delivered+st.Webhooks.Failed == st.Webhooks.Sent
	}, 30*time.Second, 50*time.Millisecond)
	require.Zero(t, st.Webhooks.Failed, "%+v", st.Webhooks)
}

// requireOwnersResolved waits until every object has synced once, then
// requires that no live record lacks an owner its cross-reference or
// parent names (the first syncs run concurrently; issue 11).
func requireOwnersResolved(t *testing.T, info devenv.Info) {
	t.Helper()
	type object struct {
		Object         string
		LastSuccessAt  *time.Time `json:"last_success_at"`
		OwnerDerivable int64      `json:"owner_derivable"`
	}
	var objects []object
	require.Eventually(t, func() bool {
		var out struct{ Connections []struct{ Objects []object } }
		adminSync(t, info, &out)
		objects = objects[:0]
		for _, c := range out.Connections {
			for _, o := range c.Objects {
				if o.LastSuccessAt == nil {
					return false
				}
				objects = append(objects, o)
			}
		}
		return len(objects) > 0
	}, 120*time.Second, 200*time.Millisecond, "every object syncs once")
	for _, o := range objects {
		require.Zero(t, o.OwnerDerivable, "%s: records without the owner their reference or parent names", o.Object)
	}
}

// adminSync decodes the admin sync view into out.
func adminSync(t *testing.T, info devenv.Info, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, info.APIURL+"/admin/sync", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+info.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}
