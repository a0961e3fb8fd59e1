package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"

	"github.com/porticohq/portico/internal/fakesource"
)

// The demo story: the simulators tell theirs (fakesource.Sim.TellStory:
// cases, quotes, invoices and orders of the demo accounts), and each demo
// customer's first change meets a newer version at the source, so that
// every block of every demo user's status hub holds something, their
// changes in conflict included.

// storyWait bounds how long making a demo conflict waits for the first
// sync (the user's contact must be in the cache) and for the write-back.
const storyWait = 2 * time.Minute

// demoConflicts makes, for each user in turn, a change of their own
// contact's phone that meets a newer version at the simulated CRM (its
// stale_next_write fault: someone else edits the contact just before
// Portico's write), through the portal API as the user would.
func demoConflicts(ctx context.Context, apiURL string, sim *fakesource.Sim, users []User) error {
	for i, u := range users {
		if err := demoConflict(ctx, apiURL, sim, u, fmt.Sprintf("+1 555 01%02d", 40+i)); err != nil {
			return fmt.Errorf("devenv: the demo conflict of %s: %w", u.Email, err)
		}
	}
	return nil
}

func demoConflict(ctx context.Context, apiURL string, sim *fakesource.Sim, u User, phone string) error {
	ctx, cancel := context.WithTimeout(ctx, storyWait)
	defer cancel()
	c, err := signIn(ctx, apiURL, u)
	if err != nil {
		return err
	}
	// The fault is the system's next update: set it just before, and
	// clear it after in case the change never reached the source.
	if err := sim.SetFaults(fakesource.Salesforce, fakesource.Faults{StaleNextWrite: true}); err != nil {
		return err
	}
	defer func() { _ = sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}) }()
	var act struct{ ID, State string }
	// Until the first sync has brought the contact, there is nothing to change.
	err = poll(ctx, func() (bool, error) {
		code, err := c.call(ctx, http.MethodPatch, "/api/v1/me/contact", map[string]any{"phone": phone}, &act)
		return code == http.StatusAccepted, err
	})
	if err != nil {
		return err
	}
	err = poll(ctx, func() (bool, error) {
		_, err := c.call(ctx, http.MethodGet, "/api/v1/actions/"+url.PathEscape(act.ID), nil, &act)
		return act.State != "pending" && act.State != "sending", err
	})
	if err == nil && act.State != "conflict" {
		err = fmt.Errorf("the change ended %s, not in conflict", act.State)
	}
	return err
}

// poll calls cond every 100 ms until it holds, fails or ctx ends.
func poll(ctx context.Context, cond func() (bool, error)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// apiClient is a signed-in user of the portal API.
type apiClient struct {
	base string
	c    *http.Client
	csrf string
}

func signIn(ctx context.Context, apiURL string, u User) (*apiClient, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &apiClient{base: apiURL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	code, err := c.call(ctx, http.MethodPost, "/auth/login", map[string]string{"email": u.Email, "password": u.Password}, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("signing in answered %d", code)
	}
	base, _ := url.Parse(apiURL)
	for _, ck := range jar.Cookies(base) {
		if ck.Name == "portico_csrf" {
			c.csrf = ck.Value
		}
	}
	if c.csrf == "" {
		return nil, errors.New("signing in set no CSRF cookie")
	}
	return c, nil
}

// call sends body as JSON and decodes a 2xx answer into out.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 && out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}
