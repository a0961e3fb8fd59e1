package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestBrowserApprovalFlows approves one quote from the status hub and
// rejects another with a reason (an empty reason first comes back beside
// its field, changing nothing): with JavaScript (htmx swaps the main
// region) and without (plain forms and links).
func TestBrowserApprovalFlows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	// Two quotes awaiting a decision for each mode.
	var quotes []string
	for i := range 2 * len(jsModes) {
		quotes = append(quotes, fmt.Sprintf("0Q0A000000001%02d", i))
		e.fx.Put("salesforce", "Quote", apitest.Alpha, apitest.SFQuote(quotes[i], apitest.Alpha, "Presented"))
	}
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := fmt.Sprintf("pat%d@alpha.test", i)
			e.user(email, apitest.Alpha, auth.RolePurchasing)
			p := webtest.New(t, mode.opts...)
			signInForm(t, p, base, email)
			approve, reject := quotes[2*i], quotes[2*i+1]

			// From the hub's block to the quote: what is approved, exactly.
			follow(t, p, `#approvals a[href="/approvals/`+approve+`"]`, "Quote "+approve)
			require.Contains(t, p.Text("#main .facts"), "1,200.50")
			before, _ := e.decisions(t, "")
			send(t, p, `form[action$="/approve"]`, "#main .notice", "Your approval is being sent.")
			require.Equal(t, base+"/approvals/"+approve+"?sent=approve", p.URL())
			require.False(t, p.Exists(`form[action$="/approve"]`), "no second decision from the page")
			require.Contains(t, p.Text(".status-box"), "Your change is being sent.")
			after, _ := e.decisions(t, "")
			require.Equal(t, before+1, after)
			check(t, p, "approval-sent", 0)

			// Reject another: the reason is required, and sent with the decision.
			follow(t, p, `a[href="/approvals"]`, "Approvals")
			follow(t, p, `#main a[href="/approvals/`+reject+`"]`, "Quote "+reject)
			send(t, p, `form[action$="/reject"]`, "#f-reason-error", "This field is required.")
			require.Equal(t, "true", evalJS[string](t, p, `document.querySelector("#f-reason").getAttribute("aria-invalid")`))
			if p.JavaScript() {
				p.WaitTrue(`document.activeElement.matches("[role=alert]")`)
			}
			now, _ := e.decisions(t, "")
			require.Equal(t, after, now, "bad input changes nothing")
			check(t, p, "reject-invalid", http.StatusUnprocessableEntity)
			reason := "Too dear, " + mode.name
			p.Fill("#f-reason", reason)
			send(t, p, `form[action$="/reject"]`, "#main .notice", "Your rejection is being sent.")
			require.Equal(t, base+"/approvals/"+reject+"?sent=reject", p.URL())
			all, withReason := e.decisions(t, reason)
			require.Equal(t, after+1, all)
			require.Equal(t, 1, withReason, "the reason goes with the decision")
			require.True(t, strings.HasPrefix(p.Title(), "Approval"), p.Title())
			check(t, p, "reject-sent", 0)
		})
	}
}
