package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/reply"
)

// An account admin's signed webhooks: the account's own tools receive
// each event about its records (notify), each delivery signed with the
// hook's secret; a hook that keeps failing is disabled, and this page
// says why and turns it on again.

// webhookSteps are the notices after a webhook's change, by ?done=.
var webhookSteps = map[string]string{"removed": key("webhooks.removed"), "enabled": key("webhooks.enabled"), "pinged": key("webhooks.pinged")}

type webhookRow struct {
	ID             int64
	URL            string
	Failures       int
	Disabled       bool
	DisabledReason string
	LastDelivery   *notify.Delivery // nil before the first
}

type webhooksPage struct {
	Hooks []webhookRow
	// NewSecret is the secret of the hook just added or rotated, shown
	// this once; Rotated: it replaced one, which signs beside it a day.
	NewSecret string
	Rotated   bool
	Signature string // how a receiver checks a delivery
}

// webhookAccount is the account whose webhooks the signed-in user
// manages, an account admin's own; for anyone else it answers the 403
// page (as the account's users page does) and reports false.
func (wb *Web) webhookAccount(w http.ResponseWriter, r *http.Request) (string, bool) {
	account, ok := notify.WebhookAccount(signedIn(r))
	switch {
	case wb.d.Notify == nil:
		wb.notFound(w, r)
	case !ok:
		wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "not allowed"})
	default:
		return account, true
	}
	return "", false
}

func (wb *Web) accountWebhooks(w http.ResponseWriter, r *http.Request) {
	wb.showWebhooks(w, r, http.StatusOK, "", "", false)
}

// showWebhooks renders the page; refused is the message key of a refused
// URL, secret the new hook's secret (rotated: it replaced one).
func (wb *Web) showWebhooks(w http.ResponseWriter, r *http.Request, status int, refused, secret string, rotated bool) {
	account, ok := wb.webhookAccount(w, r)
	if !ok {
		return
	}
	hooks, err := wb.d.Notify.Webhooks(r.Context(), wb.d.TenantID, account)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("webhooks.title"), nil)
	v.Section = "account"
	p := webhooksPage{NewSecret: secret, Rotated: rotated, Signature: "Portico-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">"}
	for _, h := range hooks {
		p.Hooks = append(p.Hooks, webhookRow{ID: h.ID, URL: h.URL, Failures: h.Failures, Disabled: h.Disabled, DisabledReason: h.DisabledReason,
			LastDelivery: h.LastDelivery})
	}
	if refused != "" {
		v.Alert = key("form.fix_fields")
		v.Fields["url"] = v.L.T(refused)
		v.Form["url"] = r.PostForm.Get("url")
	}
	if done, ok := webhookSteps[r.URL.Query().Get("done")]; ok {
		v.Notice = done
	}
	v.Page = p
	wb.render(w, r, status, "account_webhooks", v)
}

// webhookChangeBy is who changes a webhook, and from where, for the
// audit log: the signed-in account admin.
func webhookChangeBy(r *http.Request) audit.Event {
	return audit.Event{Actor: audit.UserActor(strconv.FormatInt(signedIn(r).UserID, 10))}.WithRequest(r)
}

// accountWebhookAdd adds a webhook with a fresh secret and shows the
// secret once; a bad or repeated URL is refused beside the field.
func (wb *Web) accountWebhookAdd(w http.ResponseWriter, r *http.Request) {
	account, ok := wb.webhookAccount(w, r)
	if !ok {
		return
	}
	_, secret, err := wb.d.Notify.NewWebhook(r.Context(), wb.d.TenantID, account, r.PostForm.Get("url"), webhookChangeBy(r))
	switch {
	case errors.Is(err, notify.ErrInvalid) && notify.Field(err) == "url":
		refused := key("webhooks.bad_url")
		if errors.Is(err, notify.ErrWebhookExists) {
			refused = key("webhooks.dup_url")
		}
		wb.showWebhooks(w, r, http.StatusUnprocessableEntity, refused, "", false)
	case err != nil:
		wb.internal(w, r, err)
	default:
		wb.showWebhooks(w, r, http.StatusOK, "", secret, false)
	}
}

// accountWebhookStep removes a webhook, turns a disabled one on again,
// sends it a test delivery (ping; a disabled one's is refused, 409) or
// gives it a fresh secret, shown once as a new hook's; another account's
// is the 404 page.
func (wb *Web) accountWebhookStep(step string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		account, ok := wb.webhookAccount(w, r)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		if err != nil {
			wb.notFound(w, r)
			return
		}
		var secret string
		switch step {
		case "rotated":
			secret, err = wb.d.Notify.RotateWebhookSecret(r.Context(), wb.d.TenantID, account, id, webhookChangeBy(r))
		case "removed":
			err = wb.d.Notify.RemoveWebhook(r.Context(), wb.d.TenantID, account, id, webhookChangeBy(r))
		case "pinged":
			_, err = wb.d.Notify.PingWebhook(r.Context(), wb.d.TenantID, account, id, webhookChangeBy(r))
		default:
			err = wb.d.Notify.EnableWebhook(r.Context(), wb.d.TenantID, account, id, webhookChangeBy(r))
		}
		switch {
		case errors.Is(err, notify.ErrNoWebhook):
			wb.notFound(w, r)
		case errors.Is(err, notify.ErrWebhookDisabled):
			wb.fail(w, r, &reply.Error{Status: http.StatusConflict, Code: "webhook_disabled", Message: "the webhook is turned off: turn it on first"})
		case err != nil:
			wb.internal(w, r, err)
		case secret != "":
			wb.showWebhooks(w, r, http.StatusOK, "", secret, true)
		default:
			http.Redirect(w, r, "/account/webhooks?done="+step, http.StatusSeeOther)
		}
	}
}
