package seal

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrChanged wraps every reason a sealed file does not verify: a changed
// byte, bytes appended after the seal, a missing or broken signature.
var ErrChanged = errors.New("the document was changed after sealing, or is not sealed")

// Result is a verified seal.
type Result struct {
	Evidence Evidence
	// Signer is the certificate that sealed the file; whether it is the
	// operator's is the caller's question (Verify checks the signature,
	// not trust).
	Signer   *x509.Certificate
	SealedAt time.Time // the signature's /M
}

// Verify checks a sealed PDF: its last signature covers every byte of the
// file but its own value, the CMS signature over them is valid for the
// certificate it carries (and names it in signing-certificate-v2), and the
// document the evidence hashes is exactly the file's first bytes. Any
// failure wraps ErrChanged.
func Verify(b []byte) (*Result, error) {
	bad := func(format string, args ...any) (*Result, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrChanged}, args...)...)
	}
	doc, err := parseDocument(b)
	if err != nil {
		return bad("%v", err)
	}
	sig, err := lastSignature(doc)
	if err != nil {
		return bad("%v", err)
	}
	br, ok := sig["ByteRange"].(array)
	if !ok || len(br) != 4 {
		return bad("the signature has no byte range")
	}
	var r [4]int64
	for i, v := range br {
		n, ok := v.(number)
		x, isInt := n.int()
		if !ok || !isInt || x < 0 {
			return bad("the byte range is malformed")
		}
		r[i] = x
	}
	size := int64(len(b))
	if r[0] != 0 || r[1] >= r[2] || r[2]+r[3] > size {
		return bad("the byte range is malformed")
	}
	if r[2]+r[3] != size {
		return bad("%d bytes were added after the seal", size-r[2]-r[3])
	}
	if b[r[1]] != '<' || b[r[2]-1] != '>' {
		return bad("the byte range does not frame the signature")
	}
	// The value is not covered by the signature: beyond the CMS it holds
	// nothing but zeros, or it was changed.
	der, err := hex.DecodeString(string(b[r[1]+1 : r[2]-1]))
	if err != nil {
		return bad("the signature value is not hexadecimal")
	}
	var one cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1Element(&one, cbasn1.SEQUENCE) {
		return bad("the signature value is not DER")
	}
	if bytes.ContainsFunc(in, func(r rune) bool { return r != 0 }) {
		return bad("the signature value's padding was changed")
	}
	p7, err := pkcs7.Parse(one)
	if err != nil {
		return bad("the signature: %v", err)
	}
	signed := make([]byte, 0, r[1]+r[3])
	signed = append(append(signed, b[:r[1]]...), b[r[2]:]...)
	p7.Content = signed
	if err := p7.Verify(); err != nil {
		return bad("the signature does not match the content: %v", err)
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return bad("the signature has no signer certificate")
	}
	if err := checkSigningCertificate(p7, cert); err != nil {
		return bad("%v", err)
	}
	res := &Result{Signer: cert}
	if m, ok := sig["M"].(pdfString); ok {
		res.SealedAt, _ = time.Parse("D:20060102150405Z", strings.TrimSuffix(string(m), "'"))
	}
	evV, err := doc.resolve(sig["PorticoEvidence"])
	evS, ok := evV.(stream)
	if err != nil || !ok {
		return bad("the seal carries no evidence")
	}
	if err := json.Unmarshal(evS.data, &res.Evidence); err != nil {
		return bad("the evidence: %v", err)
	}
	ev := res.Evidence
	if ev.DocumentLength <= 0 || ev.DocumentLength > r[1] {
		return bad("the evidence names a document of %d bytes", ev.DocumentLength)
	}
	sum := sha256.Sum256(b[:ev.DocumentLength])
	if hex.EncodeToString(sum[:]) != strings.ToLower(ev.DocumentSHA256) {
		return bad("the signed document's SHA-256 is %x, the evidence says %s", sum, ev.DocumentSHA256)
	}
	return res, nil
}

// lastSignature is the value of the catalog's last signature field.
func lastSignature(doc *document) (dict, error) {
	root, err := doc.dict(doc.trailer["Root"])
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	form, err := doc.dict(root["AcroForm"])
	if err != nil {
		return nil, errors.New("no signature")
	}
	fv, err := doc.resolve(form["Fields"])
	fields, _ := fv.(array)
	if err != nil {
		return nil, err
	}
	for i := len(fields) - 1; i >= 0; i-- {
		f, err := doc.dict(fields[i])
		if err != nil || f["FT"] != name("Sig") {
			continue
		}
		return doc.dict(f["V"])
	}
	return nil, errors.New("no signature")
}

// checkSigningCertificate makes sure the signed attributes name the
// certificate that verified (signing-certificate-v2, SHA-256).
func checkSigningCertificate(p7 *pkcs7.PKCS7, cert *x509.Certificate) error {
	var sc struct{ Certs []asn1.RawValue }
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificateV2, &sc); err != nil || len(sc.Certs) == 0 {
		return errors.New("the signature names no signing certificate")
	}
	id := cryptobyte.String(sc.Certs[0].Bytes)
	var hash cryptobyte.String
	if !id.ReadASN1(&hash, cbasn1.OCTET_STRING) {
		return errors.New("the signing certificate attribute is malformed")
	}
	want := sha256.Sum256(cert.Raw)
	if !bytes.Equal(hash, want[:]) {
		return errors.New("the signing certificate attribute names another certificate")
	}
	return nil
}
