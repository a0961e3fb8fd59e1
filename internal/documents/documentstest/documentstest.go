// Package documentstest reads generated PDFs in tests: their text as
// poppler's pdftotext reads it, a reader other than the one that wrote
// them. Without pdftotext a test is skipped, unless
// PORTICO_REQUIRE_POPPLER=1 (CI sets it), when it fails.
package documentstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

var spaces = regexp.MustCompile(`[ \t]+`)

// Text is the text of pdf, its lines laid out as on the page with one
// space between words.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("PORTICO_REQUIRE_POPPLER") == "1" {
			t.Fatal("pdftotext is required (PORTICO_REQUIRE_POPPLER=1): apt-get install poppler-utils")
		}
		t.Skip("pdftotext not found (apt-get install poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext cannot read the PDF: %v", err)
	}
	return spaces.ReplaceAllString(string(out), " ")
}
