package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/logtest"
)

func TestBadUsageExitsTwo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--records", "-1"}, {"--records", "2000000"}, {"--bogus"}, {"extra"}, {"--error-rate", "3"}, {"--fault-system", "nope"}} {
		var out, errOut bytes.Buffer
		require.Equal(t, 2, run(context.Background(), args, &out, &errOut), "%v", args)
		require.NotEmpty(t, errOut.String(), "%v says why", args)
	}
}

func TestServesAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut logtest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--records", "100000", "--rate-limit-rate", "1", "--fault-system", "inventory"}, &out, &errOut)
	}()
	re := regexp.MustCompile(`serving (http://\S+) `)
	var base string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "prints its URL; stderr: %s", errOut.String())
	require.Contains(t, out.String(), `"client_secret"`, "prints the credentials")

	resp, err := http.Get(base + "/_sim/stats")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Records map[string]map[string]int `json:"records"`
	}
	require.NoError(t, json.Unmarshal(body, &st))
	total := 0
	for _, objs := range st.Records {
		for name, n := range objs {
			if name != "Location" {
				total += n
			}
		}
	}
	require.Equal(t, 100000, total)
	resp, err = http.Get(base + "/_sim/faults")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `"inventory":{"rate_limit_rate":1`)

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}
