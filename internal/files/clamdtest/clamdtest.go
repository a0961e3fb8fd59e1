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
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("PORTICO_REQUIRE_CLAMD") == "1" {
			t.Fatalf("clamd is required (PORTICO_REQUIRE_CLAMD=1) but %s is missing: apt-get install clamav-daemon", bin)
		}
		t.Skipf("clamd not installed (%s); apt-get install clamav-daemon, or set PORTICO_CLAMD", bin)
	}
	c, stop, err := Launch(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return c
}

// Binary is the clamd to run: $PORTICO_CLAMD, else Debian's.
func Binary() string {
	if bin := os.Getenv("PORTICO_CLAMD"); bin != "" {
		return bin
	}
	return "/usr/sbin/clamd"
}

// Launch runs clamd (bin) with the EICAR-only database on a socket in a
// temporary directory and returns a scanner for it once it answers PING,
// and the function that stops it and removes the directory. Benchmarks
// use it as tests use Start.
func Launch(bin string) (files.Clamd, func(), error) {
	// A short directory: a unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		return files.Clamd{}, nil, err
	}
	stop := func() { _ = os.RemoveAll(dir) }
	c, kill, err := launchIn(bin, dir)
	if err != nil {
		stop()
		return files.Clamd{}, nil, err
	}
	return c, func() { kill(); stop() }, nil
}

func launchIn(bin, dir string) (files.Clamd, func(), error) {
	db := filepath.Join(dir, "db")
	sock := filepath.Join(dir, "clamd.sock")
	if err := os.Mkdir(db, 0o755); err != nil {
		return files.Clamd{}, nil, err
	}
	// An extended signature (.ndb): name, any file type (0), at offset 0,
	// the EICAR string's bytes.
	if err := os.WriteFile(filepath.Join(db, "eicar.ndb"), []byte("Eicar-Test-Signature:0:0:"+hex.EncodeToString([]byte(EICAR))+"\n"), 0o644); err != nil {
		return files.Clamd{}, nil, err
	}
	conf := fmt.Sprintf("DatabaseDirectory %s\nLocalSocket %s\nForeground yes\nLogFile %s\nPidFile %s\nStreamMaxLength 64M\n",
		db, sock, filepath.Join(dir, "clamd.log"), filepath.Join(dir, "clamd.pid"))
	if os.Geteuid() == 0 {
		conf += "User root\n" // clamd drops to its own user otherwise, which cannot read the temp dir
	}
	if err := os.WriteFile(filepath.Join(dir, "clamd.conf"), []byte(conf), 0o644); err != nil {
		return files.Clamd{}, nil, err
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "clamd.conf"))
	out, err := os.Create(filepath.Join(dir, "clamd.out"))
	if err != nil {
		return files.Clamd{}, nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return files.Clamd{}, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited //nolint:errcheck // killed: its exit status says only that
		_ = out.Close()
	}
	c := files.Clamd{Network: "unix", Address: sock, Timeout: 30 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx)
		cancel()
		if err == nil {
			return c, kill, nil
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.out"))
			_ = out.Close()
			return files.Clamd{}, nil, fmt.Errorf("clamd exited (%w) before answering PING:\n%s", werr, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.out"))
			kill()
			return files.Clamd{}, nil, fmt.Errorf("clamd did not answer PING within 60s: %w\n%s", err, log)
		}
	}
}
