package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/reply"
)

// Webhook is one of the account's signed outbound webhooks, as its admin
// sees it: never its secret, which is shown once, when it is made.
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// State is active or disabled (after repeated failures, with the
	// reason); POST /webhooks/{id}/enable turns it on again.
	State          string     `json:"state"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
	// Failures are the failed deliveries in a row.
	Failures     int              `json:"failures"`
	CreatedAt    time.Time        `json:"created_at"`
	LastDelivery *WebhookDelivery `json:"last_delivery"`
}

// WebhookDelivery is how a webhook's last delivery went.
type WebhookDelivery struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error *string   `json:"error"`
}

// WebhookList is GET /webhooks: the account's webhooks, oldest first.
type WebhookList struct {
	Data []Webhook `json:"data"`
}

// WebhookWithSecret answers the creation of a webhook and the rotation of
// its secret: the one time the secret is shown.
type WebhookWithSecret struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookInput is the body of POST /webhooks.
type WebhookInput struct {
	URL string `json:"url"`
}

// WebhookPing answers POST /webhooks/{id}/ping: the test delivery queued.
type WebhookPing struct {
	WebhookID  string    `json:"webhook_id"`
	Event      string    `json:"event"`
	OccurredAt time.Time `json:"occurred_at"`
}

func webhookView(h notify.Webhook) Webhook {
	v := Webhook{ID: strconvI(h.ID), URL: h.URL, State: "active", Failures: h.Failures, CreatedAt: h.CreatedAt}
	if h.Disabled {
		reason := h.DisabledReason
		v.State, v.DisabledAt, v.DisabledReason = "disabled", h.DisabledAt, &reason
	}
	if d := h.LastDelivery; d != nil {
		v.LastDelivery = &WebhookDelivery{At: d.At, OK: d.OK}
		if !d.OK {
			why := d.Error
			v.LastDelivery.Error = &why
		}
	}
	return v
}

// webhooks is the /webhooks resource: the signed-in account admin's
// account's webhooks, through the notifications service as the page
// /account/webhooks, under the page's rule (notify.WebhookAccount).
type webhooks struct{ a *API }

// account is the account whose webhooks the request's user manages. The
// portal without notifications has none (404); anyone but an account
// admin of a customer account is refused (403, as on the page), whatever
// the id.
func (h webhooks) account(w http.ResponseWriter, r *http.Request) (tenant int64, account string, ok bool) {
	p := auth.PrincipalFrom(r.Context())
	account, ok = notify.WebhookAccount(p)
	switch {
	case h.a.d.Notify == nil:
		h.a.notFound(w, r)
	case !ok:
		h.a.rp.Error(w, r, http.StatusForbidden, "forbidden", "only an account admin manages the account's webhooks")
	default:
		return p.TenantID, account, true
	}
	return 0, "", false
}

// by is who changes a webhook, and from where, for the audit log.
func (h webhooks) by(r *http.Request) audit.Event {
	return audit.Event{Actor: actorOf(auth.PrincipalFrom(r.Context()))}.WithRequest(r)
}

// hookID is the {id} of the path; one that is not a number is no webhook.
func hookID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

func (h webhooks) list(w http.ResponseWriter, r *http.Request) {
	tenant, account, ok := h.account(w, r)
	if !ok {
		return
	}
	got, err := h.a.d.Notify.Webhooks(r.Context(), tenant, account)
	if err != nil {
		h.a.rp.Internal(w, r, err)
		return
	}
	out := WebhookList{Data: make([]Webhook, 0, len(got))}
	for _, x := range got {
		out.Data = append(out.Data, webhookView(x))
	}
	h.a.rp.JSON(w, r, http.StatusOK, out)
}

// create adds a webhook with a fresh secret (201, the secret shown this
// once); a URL that is not http(s), or one the account has already, is a
// 422 naming url and adds nothing.
func (h webhooks) create(w http.ResponseWriter, r *http.Request) {
	tenant, account, ok := h.account(w, r)
	if !ok {
		return
	}
	var in WebhookInput
	if !h.a.decode(w, r, &in) {
		return
	}
	hook, secret, err := h.a.d.Notify.NewWebhook(r.Context(), tenant, account, in.URL, h.by(r))
	if h.refused(w, r, err) {
		return
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+strconvI(hook.ID))
	h.a.rp.JSON(w, r, http.StatusCreated, WebhookWithSecret{Webhook: webhookView(hook), Secret: secret})
}

// refused answers a failed change: bad input (422 naming the field),
// another account's webhook or none (404), a disabled one's ping (409).
func (h webhooks) refused(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, notify.ErrInvalid):
		h.a.rp.Invalid(w, r, reply.Field{Path: notify.Field(err), Message: notify.FieldMessage(err)})
	case errors.Is(err, notify.ErrNoWebhook):
		h.a.notFound(w, r)
	case errors.Is(err, notify.ErrWebhookDisabled):
		h.a.rp.Error(w, r, http.StatusConflict, "webhook_disabled", "the webhook is disabled: enable it first")
	default:
		h.a.rp.Internal(w, r, err)
	}
	return true
}

// one answers an {id} of the account's; another account's is the 404 of
// a record that does not exist.
func (h webhooks) one(w http.ResponseWriter, r *http.Request, tenant int64, account string, status int) {
	id, _ := hookID(r)
	hook, err := h.a.d.Notify.Webhook(r.Context(), tenant, account, id)
	if h.refused(w, r, err) {
		return
	}
	h.a.rp.JSON(w, r, status, webhookView(hook))
}

// step runs one change of an {id} of the account's webhooks.
func (h webhooks) step(w http.ResponseWriter, r *http.Request, change func(tenant int64, account string, id int64) error, done func(tenant int64, account string)) {
	tenant, account, ok := h.account(w, r)
	if !ok {
		return
	}
	id, ok := hookID(r)
	if !ok {
		h.a.notFound(w, r)
		return
	}
	if h.refused(w, r, change(tenant, account, id)) {
		return
	}
	done(tenant, account)
}

func (h webhooks) get(w http.ResponseWriter, r *http.Request) {
	h.step(w, r, func(int64, string, int64) error { return nil }, func(tenant int64, account string) {
		h.one(w, r, tenant, account, http.StatusOK)
	})
}

// remove deletes a webhook (204); its queued deliveries stop.
func (h webhooks) remove(w http.ResponseWriter, r *http.Request) {
	h.step(w, r, func(tenant int64, account string, id int64) error {
		return h.a.d.Notify.RemoveWebhook(r.Context(), tenant, account, id, h.by(r))
	}, func(int64, string) { w.WriteHeader(http.StatusNoContent) })
}

// enable turns a disabled webhook on again, its failures forgotten, and
// answers it; one that is on stays as it is.
func (h webhooks) enable(w http.ResponseWriter, r *http.Request) {
	h.step(w, r, func(tenant int64, account string, id int64) error {
		return h.a.d.Notify.EnableWebhook(r.Context(), tenant, account, id, h.by(r))
	}, func(tenant int64, account string) { h.one(w, r, tenant, account, http.StatusOK) })
}

// rotate gives a webhook a fresh secret, shown this once; deliveries
// signed from now on carry it.
func (h webhooks) rotate(w http.ResponseWriter, r *http.Request) {
	var secret string
	h.step(w, r, func(tenant int64, account string, id int64) (err error) {
		secret, err = h.a.d.Notify.RotateWebhookSecret(r.Context(), tenant, account, id, h.by(r))
		return err
	}, func(tenant int64, account string) {
		id, _ := hookID(r)
		hook, err := h.a.d.Notify.Webhook(r.Context(), tenant, account, id)
		if h.refused(w, r, err) {
			return
		}
		h.a.rp.JSON(w, r, http.StatusOK, WebhookWithSecret{Webhook: webhookView(hook), Secret: secret})
	})
}

// ping queues a test delivery (event ping) through the same signed
// delivery as every event (202); its outcome shows as the webhook's last
// delivery. A disabled webhook is a 409.
func (h webhooks) ping(w http.ResponseWriter, r *http.Request) {
	var sent notify.WebhookPayload
	h.step(w, r, func(tenant int64, account string, id int64) (err error) {
		sent, err = h.a.d.Notify.PingWebhook(r.Context(), tenant, account, id, h.by(r))
		return err
	}, func(int64, string) {
		h.a.rp.JSON(w, r, http.StatusAccepted, WebhookPing{WebhookID: chi.URLParam(r, "id"), Event: sent.Event, OccurredAt: sent.OccurredAt})
	})
}
