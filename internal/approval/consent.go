package approval

// Consent is one version of the statement a signer ticks, in each
// language the portal speaks. A published version is never edited: a
// change is a new version, and the evidence names the one that was shown.
type Consent struct {
	Version string
	Text    map[string]string // by locale: en, de
}

// consents are every published version, oldest first; the last is
// current.
var consents = []Consent{{
	Version: "2026-12-07",
	Text: map[string]string{
		"en": "I have read the document shown above. By typing my name and signing, I agree to it and to signing it " +
			"electronically; my electronic signature has the same effect as my handwritten one. I have received a copy " +
			"by being able to download the signed document.",
		"de": "Ich habe das oben angezeigte Dokument gelesen. Indem ich meinen Namen eingebe und unterschreibe, stimme ich " +
			"ihm und der elektronischen Unterzeichnung zu; meine elektronische Unterschrift gilt wie meine " +
			"handschriftliche. Eine Kopie erhalte ich, indem ich das unterschriebene Dokument herunterladen kann.",
	},
}}

// CurrentConsent is the version signers are shown now.
func CurrentConsent() Consent { return consents[len(consents)-1] }

// ConsentText is a version's text in locale (English where it has none
// in that language); false for an unknown version.
func ConsentText(version, locale string) (string, string, bool) {
	for _, c := range consents {
		if c.Version != version {
			continue
		}
		if t, ok := c.Text[locale]; ok {
			return t, locale, true
		}
		return c.Text["en"], "en", true
	}
	return "", "", false
}
