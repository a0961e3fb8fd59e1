package notify_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/i18n"
	"github.com/porticohq/portico/internal/notify"
)

// Every built-in rule speaks every portal language: the German templates
// are German (not the English fallback) and fill every value.
func TestEveryRuleInEveryLanguage(t *testing.T) {
	t.Parallel()
	rules, err := notify.CompileRules(nil)
	require.NoError(t, err)
	v := notify.View{Title: "00001042", Status: "Closed", NextStep: "Nothing more to do.", Tracking: "DHL JD01", Days: 7, Message: "Denied"}
	for _, ev := range notify.Events {
		r := rules[ev]
		require.NotNil(t, r, ev)
		en, enBody, err := r.Render(language.English, v)
		require.NoError(t, err)
		de, deBody, err := r.Render(language.German, v)
		require.NoError(t, err)
		for _, s := range []string{en, enBody, de, deBody} {
			require.NotContains(t, s, "<no value>", ev)
			require.Contains(t, s, "00001042", ev)
		}
		require.NotEqual(t, en, de, "%s: the German subject is the English one", ev)
		require.NotEqual(t, enBody, deBody, "%s: the German body is the English one", ev)
		fr, _, err := r.Render(language.French, v)
		require.NoError(t, err)
		require.Equal(t, en, fr, "a language the portal does not speak gets English")
	}
	// Singular and plural days.
	v.Days = 1
	de, _, err := rules[notify.EventInvoiceDue].Render(language.German, v)
	require.NoError(t, err)
	require.Equal(t, "Rechnung 00001042 ist morgen fällig", de)
	require.Equal(t, language.German, i18n.Match("de-AT"))
	require.Equal(t, language.English, i18n.Match(""))

	// A configured template is used in every language; what it leaves
	// out stays translated.
	rules, err = notify.CompileRules(map[string]notify.RuleConfig{notify.EventCaseStatus: {Subject: "Ticket {{.Title}}"}})
	require.NoError(t, err)
	de, deBody, err := rules[notify.EventCaseStatus].Render(language.German, v)
	require.NoError(t, err)
	require.Equal(t, "Ticket 00001042", de)
	require.True(t, strings.HasPrefix(deBody, "Ihre Anfrage 00001042"), deBody)
}

var formToken = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// A user who chose German is told in German, by mail (subject, text and
// HTML, the footer and the HTML's language) and in the inbox; a user who
// did not keeps English.
func TestNoticesSpeakTheRecipientsLanguage(t *testing.T) {
	t.Parallel()
	w := start(t)
	paulaWeb := w.signIn(t, paula)
	token := formToken.FindSubmatch(paulaWeb.get(t, "/profile"))
	require.NotNil(t, token, "the profile page's form token")
	req, err := http.NewRequest(http.MethodPost, w.api+"/language",
		strings.NewReader(url.Values{"lang": {"de"}, "next": {"/"}, "csrf_token": {string(token[1])}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	paulaWeb.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := paulaWeb.c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Working"}))
	de := w.waitMail(t, paula, "Anfrage ")
	require.Contains(t, de.Subject, "Espresso grinder rattles since Monday")
	require.Contains(t, de.Text, "hat jetzt den Status")
	require.Contains(t, de.Text, "Benachrichtigungseinstellungen ändern: "+w.api+"/notifications/preferences")
	require.Contains(t, de.Text, "Abbestellen: "+w.api+"/notify/unsubscribe?")
	require.Contains(t, de.HTML, `<html lang="de">`)
	require.Contains(t, de.HTML, "Im Portal öffnen")
	require.Contains(t, de.HTML, "Benachrichtigungseinstellungen")
	require.NotContains(t, de.Text, "Change your notification settings")
	w.waitInbox(t, paula, "Anfrage ")

	en := w.waitMail(t, mark, "Case ")
	require.Contains(t, en.Text, "Your case")
	require.Contains(t, en.Text, "Change your notification settings: ")
	require.Contains(t, en.HTML, `<html lang="en">`)
	require.Contains(t, en.HTML, "Open in the portal")
	w.waitInbox(t, mark, "Case ")
}
