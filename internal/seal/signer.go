package seal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Signer is the operator's sealing certificate, its issuers (leaf's first)
// and its private key.
type Signer struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// LoadSigner reads a PEM certificate file (the leaf, then any issuers) and
// a PEM private key file (PKCS #8, PKCS #1 or SEC 1).
func LoadSigner(certFile, keyFile string) (*Signer, error) {
	certs, err := readCertificates(certFile)
	if err != nil {
		return nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, fmt.Errorf("seal: %s holds no PEM private key", keyFile)
	}
	key, err := parseKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", keyFile, err)
	}
	s := &Signer{Cert: certs[0], Chain: certs[1:], Key: key}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("seal: %s and %s: %w", certFile, keyFile, err)
	}
	return s, nil
}

func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("the key cannot sign")
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS #8, PKCS #1 or EC private key")
}

// check makes sure the key belongs to the certificate.
func (s *Signer) check() error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := s.Key.Public().(equaler)
	if !ok || !pub.Equal(s.Cert.PublicKey) {
		return errors.New("the private key does not belong to the certificate")
	}
	return nil
}

// GenerateDev writes a self-signed ECDSA P-256 sealing certificate valid
// for ten years and its key to dir (cert: seal-cert.pem, key:
// seal-key.pem, 0600), unless both exist already; it returns their paths.
// For development only: no reader trusts it.
func GenerateDev(dir, org string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, "seal-cert.pem"), filepath.Join(dir, "seal-key.pem")
	if _, err := LoadSigner(certFile, keyFile); err == nil {
		return certFile, keyFile, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	subject := pkix.Name{CommonName: org + " document seal (development)", Organization: []string{org}}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject, Issuer: subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// LoadCertificate reads the first certificate of a PEM file, to compare a
// seal's signer with; the returned Signer has no key.
func LoadCertificate(certFile string) (*Signer, error) {
	certs, err := readCertificates(certFile)
	if err != nil {
		return nil, err
	}
	return &Signer{Cert: certs[0], Chain: certs[1:]}, nil
}

func readCertificates(certFile string) ([]*x509.Certificate, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, cb = pem.Decode(cb)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("seal: %s: %w", certFile, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("seal: %s holds no PEM certificate", certFile)
	}
	return certs, nil
}
