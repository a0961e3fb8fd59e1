// Package deploy_test checks the deployment files without a container
// daemon: the systemd units with systemd-analyze verify, the Dockerfile
// with hadolint when it is installed, and what both must say.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var units = []string{"portico-serve.service", "portico-worker.service"}

// TestSystemdUnitsVerify runs systemd-analyze verify on both units (with
// ExecStart's binary swapped for one that exists here) and checks they
// carry the hardening options and a stop timeout longer than the drain.
func TestSystemdUnitsVerify(t *testing.T) {
	t.Parallel()
	for _, u := range units {
		b, err := os.ReadFile(u)
		require.NoError(t, err)
		text := string(b)
		for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
			"CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "User=portico", "TimeoutStopSec=40s", "KillSignal=SIGTERM"} {
			require.Contains(t, text, want, u)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd); the units were not verified")
	}
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		require.NoError(t, err)
		p := filepath.Join(dir, u)
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/portico", "/bin/true")), 0o600))
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify has findings")
}

// TestDockerfile checks what the image must be (multi-stage, static,
// distroless, non-root, with a health check) and lints it with hadolint
// when it is installed.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	text := string(b)
	require.Equal(t, 2, strings.Count(text, "\nFROM "), "multi-stage: a build stage and the final image")
	for _, want := range []string{"CGO_ENABLED=0", "gcr.io/distroless/static", "USER nonroot", "HEALTHCHECK", `"health", "--url"`} {
		require.Contains(t, text, want)
	}
	hadolint, err := exec.LookPath("hadolint")
	if err != nil {
		t.Skip("hadolint is not installed (it is not packaged in Debian 12; get it from github.com/hadolint/hadolint releases): the Dockerfile was not linted")
	}
	out, err := exec.Command(hadolint, "../Dockerfile").CombinedOutput()
	require.NoError(t, err, "%s", out)
}
