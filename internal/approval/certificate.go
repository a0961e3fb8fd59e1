package approval

import (
	"time"

	"github.com/porticohq/portico/internal/seal"
)

// certificate labels, by locale; the page is in the language the signer
// consented in.
var certificate = map[string]map[string]string{
	"en": {
		"title":  "Completion certificate",
		"intro":  "This page was added to the document when it was signed electronically in the customer portal. It lists the evidence of the signature; the same evidence is embedded in the file, and a digital seal over the whole file shows any change made after signing.",
		"doc":    "Document",
		"sha":    "SHA-256 of the document as shown to the signer",
		"signer": "Signer (typed name, email, user id)",
		"auth":   "Signed in with",
		"authAt": "Signed in at",
		"at":     "Signed at",
		"ip":     "IP address",
		"ua":     "User agent",
		"cons":   "Consent statement",
		"dec":    "Decision",
		"footer": "Simple electronic signature (eIDAS art. 3(10); US ESIGN Act). Sealed with the operator's certificate (PAdES-B-B). This is not a qualified electronic signature.",
	},
	"de": {
		"title":  "Abschlusszertifikat",
		"intro":  "Diese Seite wurde dem Dokument angefügt, als es im Kundenportal elektronisch unterschrieben wurde. Sie führt die Nachweise der Unterschrift auf; dieselben Nachweise sind in die Datei eingebettet, und ein digitales Siegel über die ganze Datei zeigt jede Änderung nach der Unterschrift.",
		"doc":    "Dokument",
		"sha":    "SHA-256 des Dokuments, wie es dem Unterzeichner gezeigt wurde",
		"signer": "Unterzeichner (eingegebener Name, E-Mail, Benutzer-ID)",
		"auth":   "Angemeldet mit",
		"authAt": "Angemeldet um",
		"at":     "Unterschrieben um",
		"ip":     "IP-Adresse",
		"ua":     "User-Agent",
		"cons":   "Einwilligungserklärung",
		"dec":    "Entscheidung",
		"footer": "Einfache elektronische Signatur (eIDAS Art. 3 Nr. 10; US ESIGN Act). Versiegelt mit dem Zertifikat des Betreibers (PAdES-B-B). Dies ist keine qualifizierte elektronische Signatur.",
	},
}

// CertificatePage is the completion certificate page listing ev, in the
// language of its consent.
func CertificatePage(ev seal.Evidence) seal.Page {
	l, ok := certificate[ev.ConsentLocale]
	if !ok {
		l = certificate["en"]
	}
	when := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
	return seal.Page{Title: l["title"], Intro: l["intro"], Footer: l["footer"], Rows: []seal.Row{
		{Label: l["doc"], Value: ev.DocumentName + " (" + ev.Object + " " + ev.RecordID + ")"},
		{Label: l["sha"], Value: ev.DocumentSHA256},
		{Label: l["signer"], Value: ev.SignerName + " <" + ev.SignerEmail + ">, " + ev.SignerUserID},
		{Label: l["auth"], Value: ev.AuthMethod},
		{Label: l["authAt"], Value: when(ev.AuthenticatedAt)},
		{Label: l["at"], Value: when(ev.SignedAt)},
		{Label: l["ip"], Value: ev.IP},
		{Label: l["ua"], Value: ev.UserAgent},
		{Label: l["cons"], Value: ev.ConsentVersion + " (" + ev.ConsentLocale + "): " + ev.ConsentText},
		{Label: l["dec"], Value: ev.Decision},
	}}
}
