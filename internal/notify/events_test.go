package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/seal"
)

// hookSink is an account's own tool receiving signed webhooks.
type hookSink struct {
	secret string
	mu     sync.Mutex
	got    []notify.WebhookPayload
	bad    int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("Portico-Signature")
	parts := strings.SplitN(sig, ",", 2)
	ok := len(parts) == 2 && strings.HasPrefix(parts[0], "t=") && strings.HasPrefix(parts[1], "v1=")
	if ok {
		m := hmac.New(sha256.New, []byte(h.secret))
		m.Write([]byte(strings.TrimPrefix(parts[0], "t=") + "."))
		m.Write(body)
		ok = hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(strings.TrimPrefix(parts[1], "v1=")))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p notify.WebhookPayload
	_ = json.Unmarshal(body, &p)
	h.got = append(h.got, p)
}

func (h *hookSink) events() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, p := range h.got {
		out[p.Event]++
	}
	return out
}

// Every event comes from a real change in the simulators (or of a user's
// action through the API) and reaches email, the inbox and the account's
// signed webhook; nobody is told of their own doing, and the other
// account hears nothing.
func TestEveryEventReachesEachChannel(t *testing.T) {
	t.Parallel()
	certFile, keyFile, err := seal.GenerateDev(t.TempDir(), "Portico Test", time.Now())
	require.NoError(t, err)
	w := start(t, func(c *config.Config) {
		c.Notify.DedupWindow = 100 * time.Millisecond
		c.Signing.CertFile, c.Signing.KeyFile = certFile, keyFile
	})
	ctx := context.Background()
	svc := w.app.Notify()
	tenant := w.app.TenantID()
	child := w.story.Child
	sink := &hookSink{secret: "whsec-0123456789abcdef"}
	hookSrv := httptest.NewServer(sink)
	t.Cleanup(hookSrv.Close)
	_, err = svc.AddWebhook(ctx, tenant, child, hookSrv.URL, sink.secret, audit.Event{Actor: audit.SystemActor()})
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)

	// Mark's own action: applied, told to Mark only; his comment is no
	// staff reply.
	markAPI := w.signIn(t, mark)
	code, body := markAPI.call(http.MethodPost, "/api/v1/cases/"+w.story.WaitingCase+"/comments", map[string]any{"body": "The serial is EG-12345."}, nil)
	require.Equal(t, http.StatusAccepted, code, body)
	w.waitMail(t, mark, "was saved")
	w.waitInbox(t, mark, "was saved")
	// The comment reaches the cache; nobody hears of it as a reply.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT count(*) FROM record WHERE object = 'case_comment' AND data->'fields'->>'body' = 'The serial is EG-12345.' AND source_id NOT LIKE 'pending:%'`).Scan(&n))
		return n == 1
	}, 20*time.Second, 20*time.Millisecond)
	w.settle(t)
	require.Empty(t, w.mailsTo(t, alice, "New reply"), "a customer's comment is not a staff reply")
	require.Empty(t, w.mailsTo(t, alice, "was saved"), "Mark's action is Mark's")

	// Mark attaches a file to his case: once stored (and scanned), the
	// others who see the case find it in their inbox (file news goes by
	// email in the digest by default); Mark is not told of his own file.
	req, err := http.NewRequest(http.MethodPost, w.api+"/api/v1/cases/"+w.story.WaitingCase+"/files?filename=serial.txt",
		strings.NewReader("Serial number: EG-12345\n"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-CSRF-Token", markAPI.csrf)
	resp, err := markAPI.c.Do(req)
	require.NoError(t, err)
	upload, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(upload))
	w.waitInbox(t, alice, "A file is ready on")
	w.waitInbox(t, paula, "A file is ready on")
	for _, title := range w.inbox(t, mark) {
		require.NotContains(t, title, "A file is ready", "Mark uploaded it")
	}
	// File news goes by email in the daily digest (digest hour 0: due).
	require.NoError(t, svc.QueueDigests(ctx))
	digest := w.waitMail(t, alice, "Your daily summary")
	require.Contains(t, digest.Text, "A file is ready on")
	require.Contains(t, digest.Text, "== Files ==")

	// A conflict: the CRM's record moved on before Mark's change arrived.
	require.NoError(t, w.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{StaleNextWrite: true}))
	require.Eventually(t, func() bool {
		code, _ := markAPI.call(http.MethodPatch, "/api/v1/me/contact", map[string]any{"phone": "+1 555 0199"}, nil)
		return code == http.StatusAccepted
	}, 20*time.Second, 100*time.Millisecond)
	conflict := w.waitMail(t, mark, "needs a look")
	// Named as a person, not by the CRM's id of the contact.
	require.Contains(t, conflict.Subject, "Your change to your contact details (Mark Meyer) needs a look")
	require.NotContains(t, conflict.Subject, w.story.People[1].Contact)
	require.NoError(t, w.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}))

	// A failure: the CRM deleted Alice's case just before Mark closes it.
	coldBrew := w.recordOf(t, "case", child, "subject", "Cold brew kits arrived without filter papers")
	require.NoError(t, w.sim.DeleteRecord("salesforce", "Case", coldBrew))
	code, body = markAPI.call(http.MethodPost, "/api/v1/cases/"+coldBrew+"/close", map[string]any{}, nil)
	require.Equal(t, http.StatusAccepted, code, body)
	w.waitMail(t, mark, "failed")
	w.waitInbox(t, mark, "failed")

	// Staff reply on the case.
	_, err = w.sim.CreateRecord("salesforce", "CaseComment", map[string]any{"ParentId": w.story.WaitingCase,
		"CommentBody": "Thanks, the burrs are on their way.", "IsPublished": true})
	require.NoError(t, err)
	for _, to := range []string{mark, alice, paula} {
		w.waitMail(t, to, "New reply")
	}

	// A new invoice for the account (billing roles: Alice and Paula, not
	// Mark), and one due in 7 days, and one overdue.
	inv := w.raw(t, "invoice", w.recordOf(t, "invoice", child, "number", "2026-1042"))
	newInvoice := func(number string, due time.Time) {
		f := map[string]any{"DocNumber": number, "CustomerRef": inv["CustomerRef"], "TxnDate": today.Format("2006-01-02"),
			"DueDate": due.Format("2006-01-02"), "Line": inv["Line"], "TotalAmt": inv["TotalAmt"], "Balance": inv["TotalAmt"], "CurrencyRef": inv["CurrencyRef"]}
		_, err := w.sim.CreateRecord("accounting", "Invoice", f)
		require.NoError(t, err)
	}
	newInvoice("2026-2001", today.AddDate(0, 0, 7))
	newInvoice("2026-2002", today.AddDate(0, 0, -1))
	w.waitMail(t, alice, "New invoice 2026-2001")
	w.waitMail(t, paula, "New invoice 2026-2001")
	w.waitMail(t, alice, "New invoice 2026-2002")
	require.NoError(t, svc.ScanDue(ctx))
	w.waitMail(t, alice, "Invoice 2026-2001 is due in 7 days")
	w.waitMail(t, alice, "Invoice 2026-2002 is overdue")
	require.NoError(t, svc.ScanDue(ctx), "a second scan adds nothing")

	// An approval requested, and its reminder 7 days before expiry.
	_, err = w.sim.CreateRecord("salesforce", "Quote", map[string]any{"Name": "Q-CAFE-9 Descaler", "AccountId": child,
		"ContactId": w.story.People[0].Contact, "Status": "Presented", "ExpirationDate": today.AddDate(0, 0, 7).Format("2006-01-02"),
		"CurrencyIsoCode": "USD"})
	require.NoError(t, err)
	w.waitMail(t, alice, "Your decision is needed: Q-CAFE-9")
	require.NoError(t, svc.ScanDue(ctx))
	w.waitMail(t, alice, "Reminder: Q-CAFE-9 Descaler expires in 7 days")

	// Alice signs it: Paula, who sees the child account's quotes, is told
	// the signed copy is there; Alice, who signed, is not; Mark, whose
	// roles see no quotes, hears nothing.
	quoteID := w.recordOf(t, "approval_request", child, "name", "Q-CAFE-9 Descaler")
	aliceAPI := w.signIn(t, alice)
	// With the time the PDF says its data is as of: a poll between
	// opening and signing (the worker polls every few seconds here)
	// does not change what she signs.
	pdf, hdr := aliceAPI.getWithHeader(t, "/api/v1/approvals/"+quoteID+"/document.pdf")
	sum := sha256.Sum256(pdf)
	code, body = aliceAPI.call(http.MethodPost, "/api/v1/approvals/"+quoteID+"/sign", map[string]any{"signer_name": "Alice Adams", "consent": true,
		"consent_version": approval.CurrentConsent().Version, "document_sha256": hex.EncodeToString(sum[:]),
		"document_synced_at": hdr.Get("X-Document-Synced-At")}, nil)
	require.Equal(t, http.StatusAccepted, code, body)
	signed := w.waitMail(t, paula, "Q-CAFE-9 Descaler was signed")
	require.Contains(t, signed.Text, "The signed copy is ready to download.")
	require.Contains(t, signed.Text, w.api+"/notify/click/")
	w.waitInbox(t, paula, "Q-CAFE-9 Descaler was signed")

	// An order shipped, with its tracking.
	orderID := w.recordOf(t, "order", child, "reference", "PO-CAFE-0417")
	order := w.raw(t, "order", orderID)
	ful, _ := order["fulfillments"].([]any)
	ful = append(ful, map[string]any{"uid": "ful-test-2", "type": "SHIPMENT", "state": "COMPLETED",
		"shipment_details": map[string]any{"carrier": "DHL", "tracking_number": "JD0123456789", "tracking_url": "https://track.example/JD0123456789",
			"shipped_at": time.Now().UTC().Format(time.RFC3339), "recipient": map[string]any{"display_name": "Alice Adams"}}})
	require.NoError(t, w.sim.StaffEdit("inventory", "order", orderID, map[string]any{"fulfillments": ful}))
	m := w.waitMail(t, mark, "has shipped")
	require.Contains(t, m.Text, "DHL JD0123456789")

	// A case of the other account: its users hear of it; Paula, who sees
	// her own account's children, is a candidate (she sees child
	// accounts) whom the access policy turns away.
	owensCase := w.recordOf(t, "case", w.story.Other, "subject", "Milk frother leaks at the steam wand")
	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", owensCase, map[string]any{"Status": "Working"}))
	w.waitMail(t, owen, "Milk frother")

	// Case status (with its next step) rounds it off.
	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Closed"}))
	w.waitMail(t, mark, "Closed")

	w.settle(t)
	// The other account heard nothing of this account's records (only,
	// from the due-date scan, of its own invoices).
	for _, other := range []string{bianca, owen} {
		for _, m := range w.mailsTo(t, other, "") {
			for _, s := range []string{"2026-2001", "2026-2002", "Q-CAFE", "PO-CAFE", "Espresso", "grinder"} {
				require.NotContains(t, m.Subject+m.Text, s, other)
			}
		}
	}
	var foreign int
	require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT count(*) FROM notice n JOIN record r ON r.object = n.object AND r.source_id = n.source_id
		WHERE n.user_id = ANY ($1) AND r.owner_account <> $2`, []int64{w.users[bianca], w.users[owen]}, w.story.Other).Scan(&foreign))
	require.Zero(t, foreign, "a notice about another account's record")
	for _, u := range []string{alice, mark, paula} {
		require.Empty(t, w.mailsTo(t, u, "Milk frother"), u)
	}
	require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT count(*) FROM notice n JOIN record r ON r.object = n.object AND r.source_id = n.source_id
		WHERE n.user_id = ANY ($1) AND r.owner_account = $2`, []int64{w.users[alice], w.users[mark], w.users[paula]}, w.story.Other).Scan(&foreign))
	require.Zero(t, foreign, "a notice about the other account's record")
	// Each record event reached the account's webhook, signed.
	require.Eventually(t, func() bool {
		ev := sink.events()
		for _, k := range []string{notify.EventCaseComment, notify.EventInvoiceIssued, notify.EventInvoiceDue, notify.EventInvoiceOverdue,
			notify.EventApprovalRequested, notify.EventApprovalReminder, notify.EventOrderShipped, notify.EventCaseStatus, notify.EventFileReady,
			notify.EventFileSigned, notify.EventActionApplied, notify.EventActionConflict, notify.EventActionFailed} {
			if ev[k] == 0 {
				t.Logf("webhook has not had %s yet: %v", k, ev)
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond)
	require.Zero(t, sink.bad)
	w.settle(t)
	require.Empty(t, w.mailsTo(t, alice, "was signed"), "Alice signed it herself")
	require.Empty(t, w.mailsTo(t, mark, "was signed"), "Mark's roles see no quotes")
	require.Len(t, w.mailsTo(t, paula, "was signed"), 1, "one notice of the signature, no second of its file")
	require.Empty(t, w.mailsTo(t, paula, "A file is ready on Q-CAFE-9"), "the signed copy is news as a signature")
	// Exactly once: no recipient had two mails with one Message-ID.
	seen := map[string]bool{}
	for _, m := range w.mails(t) {
		id := m.To + m.Header.Get("Message-ID")
		require.False(t, seen[id], "twice: %s %s", m.To, m.Subject)
		seen[id] = true
	}
}
