package seal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/seal"
	"github.com/porticohq/portico/internal/seal/sealtest"
)

func testEvidence() seal.Evidence {
	return seal.Evidence{Object: "approval_request", RecordID: "0Q0000000000001AAA", DocumentName: "Q-1001",
		SignerUserID: "17", SignerEmail: "alice.admin@demo.portico.test", SignerName: "Alice Ämtler",
		AuthMethod: "password", AuthenticatedAt: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC),
		SignedAt: time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC), IP: "203.0.113.9",
		UserAgent:      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		ConsentVersion: "2026-12-01", ConsentLocale: "en", ConsentText: "I agree to sign electronically.", Decision: "approved"}
}

func testPage() seal.Page {
	return seal.Page{Title: "Completion certificate", Intro: "This page lists the evidence of the signature.",
		Rows: []seal.Row{{Label: "Signer", Value: "Alice Ämtler <alice.admin@demo.portico.test>"},
			{Label: "User agent", Value: strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 6)}},
		Footer: "Sealed by Portico."}
}

func TestSealVerify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		rsa      bool
		compress bool
		pages    int
	}{{"ecdsa", false, true, 1}, {"rsa uncompressed", true, false, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			orig := sealtest.PDF(t, tc.pages, tc.compress)
			s := sealtest.Signer(t, tc.rsa)
			sealed, err := seal.Seal(orig, testEvidence(), testPage(), s)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(sealed, orig), "the original bytes come first, unchanged")

			res, err := seal.Verify(sealed)
			require.NoError(t, err)
			sum := sha256.Sum256(orig)
			require.Equal(t, hex.EncodeToString(sum[:]), res.Evidence.DocumentSHA256)
			require.Equal(t, int64(len(orig)), res.Evidence.DocumentLength)
			require.Equal(t, "alice.admin@demo.portico.test", res.Evidence.SignerEmail)
			require.Equal(t, "2026-12-01", res.Evidence.ConsentVersion)
			require.True(t, res.Signer.Equal(s.Cert))
			require.Equal(t, time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC), res.SealedAt)

			pdfsig(t, sealed, tc.pages+1)
		})
	}
}

// TestVerifyRefusesAnyChange flips bytes all over the sealed file, in the
// original, in the certificate page, in the signature value and in the
// trailer, the padding of the signature value; and appends one. Every
// change fails.
func TestVerifyRefusesAnyChange(t *testing.T) {
	t.Parallel()
	orig := sealtest.PDF(t, 1, true)
	sealed, err := seal.Seal(orig, testEvidence(), testPage(), sealtest.Signer(t, false))
	require.NoError(t, err)
	_, err = seal.Verify(sealed)
	require.NoError(t, err)
	for _, at := range []int{100, len(orig) - 20, len(orig) + 200, bytes.Index(sealed, []byte("/Contents <")) + 40,
		bytes.LastIndex(sealed, []byte("alice.admin")), len(sealed) - 30,
		// The signature value's zero padding, which the signature cannot cover.
		bytes.Index(sealed, []byte("00000000>")) + 3} {
		changed := bytes.Clone(sealed)
		changed[at] ^= 0x01
		_, err := seal.Verify(changed)
		require.ErrorIs(t, err, seal.ErrChanged, "byte %d flipped", at)
	}
	_, err = seal.Verify(append(bytes.Clone(sealed), '\n'))
	require.ErrorIs(t, err, seal.ErrChanged)
	require.ErrorContains(t, err, "1 bytes were added after the seal")

	_, err = seal.Verify(orig)
	require.ErrorIs(t, err, seal.ErrChanged, "an unsealed PDF does not verify")
}

// TestSealRefusesAnotherDocument: the signer saw other bytes than those
// being sealed.
func TestSealRefusesAnotherDocument(t *testing.T) {
	t.Parallel()
	ev := testEvidence()
	ev.DocumentSHA256 = strings.Repeat("ab", 32)
	_, err := seal.Seal(sealtest.PDF(t, 1, true), ev, testPage(), sealtest.Signer(t, false))
	require.ErrorContains(t, err, "not the one the signer was shown")
	_, err = seal.Seal([]byte("hello"), testEvidence(), testPage(), sealtest.Signer(t, false))
	require.ErrorContains(t, err, "not a PDF")
}

// TestSealObjectStreams seals a PDF whose cross-reference is a stream and
// whose catalog sits in an object stream (as qpdf writes them).
func TestSealObjectStreams(t *testing.T) {
	t.Parallel()
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		t.Skip("qpdf is not installed (apt-get install qpdf)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	require.NoError(t, os.WriteFile(in, sealtest.PDF(t, 2, true), 0o600))
	b, err := exec.Command(qpdf, "--object-streams=generate", in, out).CombinedOutput()
	require.NoError(t, err, string(b))
	orig, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Contains(t, string(orig), "/ObjStm")
	sealed, err := seal.Seal(orig, testEvidence(), testPage(), sealtest.Signer(t, false))
	require.NoError(t, err)
	_, err = seal.Verify(sealed)
	require.NoError(t, err)
	pdfsig(t, sealed, 3)
	require.NoError(t, os.WriteFile(out, sealed, 0o600))
	b, err = exec.Command(qpdf, "--check", out).CombinedOutput()
	require.NoError(t, err, string(b))
}

func TestGenerateDevLoadSigner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf, kf, err := seal.GenerateDev(dir, "Acme", time.Now())
	require.NoError(t, err)
	s, err := seal.LoadSigner(cf, kf)
	require.NoError(t, err)
	require.Contains(t, s.Cert.Subject.CommonName, "Acme")
	// A second call keeps what is there.
	before, _ := os.ReadFile(cf)
	_, _, err = seal.GenerateDev(dir, "Acme", time.Now())
	require.NoError(t, err)
	after, _ := os.ReadFile(cf)
	require.Equal(t, before, after)
	st, err := os.Stat(kf)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	other := t.TempDir()
	_, kf2, err := seal.GenerateDev(other, "Other", time.Now())
	require.NoError(t, err)
	_, err = seal.LoadSigner(cf, kf2)
	require.ErrorContains(t, err, "does not belong to the certificate")
}

// pdfsig checks the sealed file with poppler's pdfsig, an implementation
// that is not ours: the signature is valid and covers the whole file.
// It skips without poppler-utils unless PORTICO_REQUIRE_PDFSIG is set.
func pdfsig(t *testing.T, sealed []byte, pages int) {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		if os.Getenv("PORTICO_REQUIRE_PDFSIG") != "" {
			t.Fatal("pdfsig is not installed (apt-get install poppler-utils)")
		}
		t.Log("pdfsig is not installed (apt-get install poppler-utils): skipping its check")
		return
	}
	f := filepath.Join(t.TempDir(), "sealed.pdf")
	require.NoError(t, os.WriteFile(f, sealed, 0o600))
	out, err := exec.Command(bin, f).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Signature Validation: Signature is Valid.", string(out))
	require.Contains(t, string(out), "Total document signed", string(out))
	require.Contains(t, string(out), "ETSI.CAdES.detached", string(out))
	if info, err := exec.LookPath("pdfinfo"); err == nil {
		out, err := exec.Command(info, f).CombinedOutput()
		require.NoError(t, err, string(out))
		require.Regexp(t, `Pages:\s+`+string(rune('0'+pages))+`\n`, string(out))
	}
}

// TestSealRenderedQuote seals the portal's own quote PDF (internal/documents,
// with a brand logo-less default and German text) with the completion
// certificate page the signing flow builds, and checks it in Go and with
// pdfsig; pdftotext, where installed, finds the quote and the certificate.
func TestSealRenderedQuote(t *testing.T) {
	t.Parallel()
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b
	}
	src := documents.Source{
		Record: documents.Record{ID: "a0Q5", Object: "approval_request", Status: "pending", StatusLabel: "Awaiting your decision",
			SyncedAt: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Fields: raw(map[string]any{"name": "Café fit-out, Łódź branch",
				"kind": "quote", "total": 5890, "currency": "EUR", "expires_on": "2027-01-15"})},
		Related: []documents.Record{{ID: "l1", Fields: raw(map[string]any{"name": "Barista counter", "quantity": 1,
			"unit_price": 4200, "total": 4200, "position": 1})}},
	}
	orig, err := documents.Render(context.Background(), documents.Quote, src, documents.Options{Lang: language.German})
	require.NoError(t, err)
	ev := testEvidence()
	ev.ConsentLocale = "de"
	sum := sha256.Sum256(orig)
	ev.DocumentSHA256 = hex.EncodeToString(sum[:])
	sealed, err := seal.Seal(orig, ev, approval.CertificatePage(ev), sealtest.Signer(t, false))
	require.NoError(t, err)
	res, err := seal.Verify(sealed)
	require.NoError(t, err)
	require.Equal(t, ev.DocumentSHA256, res.Evidence.DocumentSHA256)
	pdfsig(t, sealed, strings.Count(string(orig), "/Type /Page\n")+1)
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		f := filepath.Join(t.TempDir(), "q.pdf")
		require.NoError(t, os.WriteFile(f, sealed, 0o600))
		out, err := exec.Command(bin, f, "-").CombinedOutput()
		require.NoError(t, err, string(out))
		require.Contains(t, string(out), "Barista counter")
		require.Contains(t, string(out), "Abschlusszertifikat")
		require.Contains(t, string(out), "Alice Ämtler")
		require.Contains(t, string(out), ev.DocumentSHA256)
	}
}
