// Package clamdtest starts Debian's real clamd for tests, with a private
// signature database that holds only the EICAR test signature (no
// signature download is needed or possible). Without /usr/sbin/clamd (or
// PORTICO_CLAMD) the test is skipped, unless PORTICO_REQUIRE_CLAMD=1,
// when it fails: CI sets it.
package clamdtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/porticohq/portico/internal/files"
)

// EICAR is the antivirus test file: harmless, detected by every scanner.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// Signature is the name clamd reports for EICAR with the database
// written here.
const Signature = "Eicar-Test-Signature.UNOFFICIAL"

// Start runs clamd on a socket in a temporary directory until the test
// ends and returns a scanner for it, once it answers PING.
func Start(t testing.TB) files.Clamd {
	t.Helper()
	bin := os.Getenv("PORTICO_CLAMD")
	if bin == "" {
		bin = "/usr/sbin/clamd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("PORTICO_REQUIRE_CLAMD") == "1" {
			t.Fatalf("clamd is required (PORTICO_REQUIRE_CLAMD=1) but %s is missing: apt-get install clamav-daemon", bin)
		}
		t.Skipf("clamd not installed (%s); apt-get install clamav-daemon, or set PORTICO_CLAMD", bin)
	}
	// A short directory: a unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	sock := filepath.Join(dir, "clamd.sock")
	must(t, os.Mkdir(db, 0o755))
	// An extended signature (.ndb): name, any file type (0), at offset 0,
	// the EICAR string's bytes.
	must(t, os.WriteFile(filepath.Join(db, "eicar.ndb"), []byte("Eicar-Test-Signature:0:0:"+hex.EncodeToString([]byte(EICAR))+"\n"), 0o644))
	conf := fmt.Sprintf("DatabaseDirectory %s\nLocalSocket %s\nForeground yes\nLogFile %s\nPidFile %s\nStreamMaxLength 64M\n",
		db, sock, filepath.Join(dir, "clamd.log"), filepath.Join(dir, "clamd.pid"))
	if os.Geteuid() == 0 {
		conf += "User root\n" // clamd drops to its own user otherwise, which cannot read the temp dir
	}
	must(t, os.WriteFile(filepath.Join(dir, "clamd.conf"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "clamd.conf"))
	out, err := os.Create(filepath.Join(dir, "clamd.out"))
	must(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited //nolint:errcheck // killed: its exit status says only that
		_ = out.Close()
	})
	c := files.Clamd{Network: "unix", Address: sock, Timeout: 30 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx)
		cancel()
		if err == nil {
			return c
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.out"))
			t.Fatalf("clamd exited (%v) before answering PING:\n%s", werr, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.out"))
			t.Fatalf("clamd did not answer PING within 60s: %v\n%s", err, log)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
