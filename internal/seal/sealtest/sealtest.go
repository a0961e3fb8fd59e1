// Package sealtest gives tests a PDF to seal and a sealing certificate.
package sealtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strconv"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/seal"
)

// PDF renders a small quote-like PDF of the given pages, the same bytes
// every time.
func PDF(t require.TestingT, pages int, compress bool) []byte {
	lines := make([]string, pages)
	for i := range lines {
		lines[i] = "Quote Q-1001, page " + strconv.Itoa(i+1)
	}
	b, err := Render(lines, compress)
	require.NoError(t, err)
	return b
}

// Render renders one page per line of text, the same bytes for the same
// lines: a stand-in for the documents a test signs.
func Render(pages []string, compress bool) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(compress)
	pdf.SetCreationDate(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	pdf.SetModificationDate(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	for _, text := range pages {
		pdf.AddPage()
		pdf.SetFont("Helvetica", "", 14)
		pdf.Cell(40, 10, text)
	}
	var b bytes.Buffer
	err := pdf.Output(&b)
	return b.Bytes(), err
}

// Signer is a self-signed sealing certificate valid for an hour, with an
// RSA 2048 or an ECDSA P-256 key.
func Signer(t require.TestingT, rsaKey bool) *seal.Signer {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Test seal"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	var key crypto.Signer
	var err error
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	require.NoError(t, err)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &seal.Signer{Cert: c, Key: key}
}
