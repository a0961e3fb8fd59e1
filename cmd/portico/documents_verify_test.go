package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/seal"
	"github.com/porticohq/portico/internal/seal/sealtest"
)

func TestDocumentsVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, err := seal.GenerateDev(dir, "Acme", time.Now())
	require.NoError(t, err)
	signer, err := seal.LoadSigner(certFile, keyFile)
	require.NoError(t, err)
	ev := seal.Evidence{Object: "approval_request", RecordID: "0Q0000000000001AAA", SignerUserID: "7",
		SignerEmail: "alice@example.test", SignerName: "Alice", AuthMethod: "password",
		AuthenticatedAt: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC), SignedAt: time.Date(2026, 12, 7, 14, 1, 0, 0, time.UTC),
		IP: "203.0.113.9", UserAgent: "test", ConsentVersion: "v1", ConsentLocale: "en", ConsentText: "I agree.", Decision: "approved"}
	sealed, err := seal.Seal(sealtest.PDF(t, 1, true), ev, seal.Page{Title: "Certificate"}, signer)
	require.NoError(t, err)
	good := filepath.Join(dir, "signed.pdf")
	require.NoError(t, os.WriteFile(good, sealed, 0o600))

	code, stdout, stderr := portico(t, "documents", "verify", good)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "ok: "+good+": the seal is valid")
	require.Contains(t, stdout, "signer:           Alice <alice@example.test>, user 7\n")
	require.Contains(t, stdout, "signed in:        password at 2026-12-07T14:00:00Z\n")
	require.Contains(t, stdout, "consent:          version v1 (en): I agree.\n")
	code, _, stderr = portico(t, "documents", "verify", "--cert", certFile, good)
	require.Equal(t, exitOK, code, stderr)

	// One byte flipped, anywhere: exit 1.
	for _, at := range []int{200, len(sealed) / 2, bytes.Index(sealed, []byte("alice@example.test"))} {
		flipped := bytes.Clone(sealed)
		flipped[at] ^= 0x20
		bad := filepath.Join(dir, "flipped.pdf")
		require.NoError(t, os.WriteFile(bad, flipped, 0o600))
		code, stdout, _ = portico(t, "documents", "verify", bad)
		require.Equal(t, exitFailed, code, "byte %d flipped: %s", at, stdout)
		require.Contains(t, stdout, "FAIL "+bad)
	}

	// Sealed by someone else's certificate: exit 1 with --cert.
	other := t.TempDir()
	otherCert, _, err := seal.GenerateDev(other, "Other", time.Now())
	require.NoError(t, err)
	code, stdout, _ = portico(t, "documents", "verify", "--cert", otherCert, good)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "not by --cert's certificate")

	code, _, stderr = portico(t, "documents", "verify", filepath.Join(dir, "missing.pdf"))
	require.Equal(t, exitUsage, code, stderr)
	code, _, _ = portico(t, "documents", "verify")
	require.Equal(t, exitUsage, code)
}
