// Package seal seals a PDF: it appends, as an incremental update, a
// completion certificate page that lists a signing's evidence, the
// evidence itself as a JSON stream, and a PAdES-B-B signature (a CMS
// detached signature, SubFilter ETSI.CAdES.detached) over every byte of
// the file but the signature's own value, made with the operator's
// certificate. It also verifies a sealed file: the signature, that nothing
// was appended after it, and that the document the signer was shown is
// byte for byte the prefix the evidence hashes.
//
// The original bytes are never rewritten: the certificate page, the
// signature field and the new page tree root come after them, so the
// SHA-256 in the evidence stays checkable and any PDF reader shows whether
// the file changed after sealing.
//
// It reads just enough PDF to do that (cross-reference tables and streams,
// object streams, dictionaries and arrays); it does not render, and it
// knows nothing of users, records or storage: callers pass the evidence
// and store the result.
package seal
