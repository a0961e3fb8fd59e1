package devenv_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/devenv"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// hubBlock is one block of a status hub page: its id and whether it
// lists anything.
var hubBlock = regexp.MustCompile(`(?s)<section class="block" id="([a-z]+)".*?</section>`)

// blocksFor are the hub's blocks for roles, in the hub's order.
func blocksFor(u devenv.User) []string {
	sees := map[string][]string{
		auth.RoleMember: {"cases", "orders"}, auth.RoleBilling: {"invoices"}, auth.RolePurchasing: {"orders", "approvals"},
		auth.RoleAccountAdmin: {"cases", "orders", "invoices", "approvals"}, auth.RoleOperatorAdmin: {"cases", "orders", "invoices", "approvals"},
	}
	var out []string
	for _, b := range []string{"cases", "orders", "invoices", "approvals"} {
		for _, r := range u.Roles {
			if slices.Contains(sees[r], b) && !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	if u.Account != "" {
		out = append(out, "actions") // customers' own changes
	}
	return out
}

// The dev world opens on a story: every demo user's status hub has
// something in every block their roles show (a case with its next step,
// an order on its way, an invoice due, a quote to approve, and their own
// change in conflict), and the case waiting for its customer carries the
// support team's question.
func TestDevWorldFillsEveryHubBlock(t *testing.T) {
	t.Parallel()
	start := time.Now()
	cfg := config.Default()
	cfg.Dev.Dir = t.TempDir()
	cfg.DatabaseURL = dbtest.URL(t)
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Dev.Records = 300
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan devenv.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- devenv.Run(ctx, &cfg, deps(t), slog.New(slog.DiscardHandler), io.Discard, func(i devenv.Info) { readyc <- i })
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	var info devenv.Info
	select {
	case info = <-readyc:
	case err := <-done:
		t.Fatalf("dev environment failed to start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dev environment did not start within 30s")
	}
	require.Len(t, info.Users, 6)

	for _, u := range info.Users {
		c, _ := login(t, info, u)
		want := blocksFor(u)
		var last map[string]bool
		require.Eventually(t, func() bool {
			last = hubBlocks(t, c, info.APIURL+"/")
			for _, b := range want {
				if !last[b] {
					return false
				}
			}
			return len(last) == len(want)
		}, 30*time.Second, 100*time.Millisecond, "%s (%v): every block of %v holds something", u.Email, u.Roles, want)
	}

	// Mark's case waits for him, and its page shows what support asked.
	mark := info.Users[slices.IndexFunc(info.Users, func(u devenv.User) bool { return u.Email == "mark.member@demo.portico.test" })]
	c, _ := login(t, info, mark)
	hub := page(t, c, info.APIURL+"/")
	m := regexp.MustCompile(`<a href="/cases/([0-9A-Za-z]+)">Espresso grinder rattles since Monday</a>\s*<span class="status status-waiting_on_you">Waiting for you</span>`).FindStringSubmatch(hub)
	require.NotNil(t, m, "the waiting case is on Mark's hub, waiting for him:\n%s", hub)
	require.Contains(t, hub, "Please reply with the information we asked for.")
	casePage := page(t, c, info.APIURL+"/cases/"+m[1])
	require.Contains(t, casePage, "To send the right replacement burrs we need the serial number on the underside of the grinder")
	t.Logf("the dev world's hubs were full %s after start", time.Since(start).Round(100*time.Millisecond))
}

// hubBlocks reads a status hub: each block's id, and whether it lists
// anything.
func hubBlocks(t *testing.T, c *http.Client, url string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range hubBlock.FindAllStringSubmatch(page(t, c, url), -1) {
		out[m[1]] = strings.Contains(m[0], `<li class="item">`)
	}
	return out
}

func page(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	return string(body)
}
