package fakesource

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	webhookQueue    = 10000
	webhookAttempts = 4
)

// delivery is one notification ready to POST.
type delivery struct {
	system string
	url    string
	body   []byte
	header http.Header
}

// webhooks delivers change notifications asynchronously, in order, with bounded retries.
// A full queue drops the notification (counted as failed) rather than block an API call.
type webhooks struct {
	s       *Sim
	mu      sync.Mutex
	st      WebhookStats
	queue   chan delivery
	started bool
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

func newWebhooks(s *Sim) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	return &webhooks{s: s, queue: make(chan delivery, webhookQueue), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Close stops webhook delivery (pending notifications are dropped) and closes the journal.
func (s *Sim) Close() {
	defer s.closeJournal()
	h := s.hooks
	h.mu.Lock()
	running := h.started && !h.closed
	h.started, h.closed = true, true // no worker may start after Close
	h.mu.Unlock()
	h.cancel()
	if running {
		<-h.done
	}
}

func (h *webhooks) stats() WebhookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st
}

func randomRunID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// WebhookSignature returns the Square-style signature of body for notificationURL:
// base64(HMAC-SHA256(key, notificationURL + body)). QuickBooks-style signatures are the
// same with an empty notificationURL.
func WebhookSignature(key, notificationURL string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(notificationURL))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (s *Sim) sign(key, msg string) string { return WebhookSignature(key, "", []byte(msg)) }

// webhookURL expands {system} in Options.WebhookURL.
func (s *Sim) webhookURL(system string) string {
	return strings.ReplaceAll(s.opts.WebhookURL, "{system}", system)
}

// enqueueLocked builds the notification for a change while the record is consistent and
// queues it; callers hold s.mu.
func (h *webhooks) enqueueLocked(o *objectState, r *record, op string) {
	s := h.s
	if s.opts.WebhookURL == "" {
		return
	}
	d := delivery{system: o.def.system, url: s.webhookURL(o.def.system), header: http.Header{}}
	if o.def.system == Salesforce {
		// Outbound messages cannot be signed: the endpoint URL carries the secret.
		d.url += "/" + url.PathEscape(s.opts.WebhookSecret)
	}
	var err error
	switch o.def.system {
	case Salesforce:
		d.body, err = s.sfOutboundMessageLocked(o, r)
		d.header.Set("Content-Type", "text/xml; charset=utf-8")
		d.header.Set("SOAPAction", `""`)
	case Accounting:
		d.body, err = s.qbNotification(o, r, op)
		d.header.Set("Content-Type", "application/json")
		d.header.Set("intuit-signature", WebhookSignature(s.opts.WebhookSecret, "", d.body))
	default:
		d.body, err = s.sqEventLocked(o, r, op)
		d.header.Set("Content-Type", "application/json")
		d.header.Set("x-square-hmacsha256-signature", WebhookSignature(s.opts.WebhookSecret, d.url, d.body))
	}
	if err != nil || d.body == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return
	}
	if !h.started {
		h.started = true
		go h.run()
	}
	select {
	case h.queue <- d:
		h.st.Sent++
	default:
		h.st.Sent++
		h.st.Failed++
	}
}

func (h *webhooks) run() {
	defer close(h.done)
	for {
		select {
		case <-h.ctx.Done():
			return
		case d := <-h.queue:
			ok := h.deliver(d)
			h.mu.Lock()
			if ok {
				h.st.Delivered++
			} else {
				h.st.Failed++
			}
			h.mu.Unlock()
		}
	}
}

func (h *webhooks) deliver(d delivery) bool {
	wait := 100 * time.Millisecond
	for attempt := 0; attempt < webhookAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(wait):
				wait *= 4
			case <-h.ctx.Done():
				return false
			}
		}
		req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
		if err != nil {
			h.s.opts.Logger.Warn("fakesource: webhook request", "system", d.system, "error", err)
			return false
		}
		req.Header = d.header.Clone()
		resp, err := h.s.opts.HTTPClient.Do(req)
		if err != nil {
			h.s.opts.Logger.Warn("fakesource: webhook delivery", "system", d.system, "attempt", attempt+1, "error", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return true
		}
		h.s.opts.Logger.Warn("fakesource: webhook rejected", "system", d.system, "attempt", attempt+1, "status", resp.StatusCode)
	}
	return false
}

// sfOutboundMessageLocked renders a Salesforce outbound message (SOAP) for a change.
func (s *Sim) sfOutboundMessageLocked(o *objectState, r *record) ([]byte, error) {
	var fields bytes.Buffer
	put := func(k string, v any) {
		if v == nil {
			fmt.Fprintf(&fields, "<sf:%s xsi:nil=\"true\"/>", k)
			return
		}
		fmt.Fprintf(&fields, "<sf:%s>", k)
		_ = xml.EscapeText(&fields, []byte(fmt.Sprint(v)))
		fmt.Fprintf(&fields, "</sf:%s>", k)
	}
	put("Id", r.id)
	put("IsDeleted", r.deleted)
	keys := make([]string, 0, len(r.fields))
	for k := range r.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		put(k, r.fields[k])
	}
	put("LastModifiedDate", sfTime(r.stamp))
	put("SystemModstamp", sfTime(r.stamp))
	base := s.baseURL
	org := s.orgID()
	s.notifySeq++
	doc := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>%s</OrganizationId>
   <ActionId>%s</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>%s/services/Soap/c/59.0/%s</EnterpriseUrl>
   <PartnerUrl>%s/services/Soap/u/59.0/%s</PartnerUrl>
   <Notification>
    <Id>%s</Id>
    <sObject xsi:type="sf:%s" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">%s</sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`, org, sfID("04k", int64(tagOf(o.def.name)%1000)), base, org[:15], base, org[:15], sfID("04l", int64(s.notifySeq)), o.def.name, fields.String())
	return []byte(doc), nil
}

func (s *Sim) orgID() string {
	if s.opts.SalesforceOrgID != "" {
		return s.opts.SalesforceOrgID
	}
	return sfOrgID
}

// qbNotification renders a QuickBooks webhook payload.
func (s *Sim) qbNotification(o *objectState, r *record, op string) ([]byte, error) {
	operation := map[string]string{opCreate: "Create", opUpdate: "Update", opDelete: "Delete"}[op]
	return json.Marshal(map[string]any{"eventNotifications": []any{map[string]any{
		"realmId": qbRealm,
		"dataChangeEvent": map[string]any{"entities": []any{map[string]any{
			"name": o.def.name, "id": r.id, "operation": operation,
			"lastUpdated": r.stamp.In(qbZone).Format("2006-01-02T15:04:05.000Z07:00"),
		}}},
	}}})
}

// sqEventLocked renders a Square webhook event.
func (s *Sim) sqEventLocked(o *objectState, r *record, op string) ([]byte, error) {
	s.notifySeq++
	// Receivers drop an event id they have seen, so a restarted simulator
	// must not repeat the previous run's ids.
	hi, lo := mix(uint64(s.notifySeq)^s.runID), mix(uint64(s.notifySeq)^^s.runID)
	eventID := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hi>>32, hi>>16&0xffff, hi&0xfff, lo>>48&0xfff, lo&0xffffffffffff)
	var typ, dataType string
	var object map[string]any
	switch o.def.name {
	case "Order":
		typ, dataType = "order."+map[string]string{opCreate: "created", opUpdate: "updated", opDelete: "updated"}[op], "order"
		key := "order_" + strings.TrimPrefix(typ, "order.")
		object = map[string]any{key: map[string]any{
			"order_id": r.id, "version": r.version, "location_id": r.fields["location_id"], "state": r.fields["state"],
			"created_at": sqTime(r.created), "updated_at": sqTime(r.stamp),
		}}
	case "Customer":
		typ, dataType = "customer."+map[string]string{opCreate: "created", opUpdate: "updated", opDelete: "deleted"}[op], "customer"
		object = map[string]any{"customer": s.sqRenderLocked(o, r)}
	case "Item", "ItemVariation":
		typ, dataType = "catalog.version.updated", "catalog_version"
		object = map[string]any{"catalog_version": map[string]any{"updated_at": sqTime(r.stamp)}}
	case "InventoryCount":
		typ, dataType = "inventory.count.updated", "inventory_counts"
		object = map[string]any{"inventory_counts": []any{s.sqRenderLocked(o, r)}}
	default:
		return nil, nil
	}
	return json.Marshal(map[string]any{
		"merchant_id": "ML7Z3B1ZHAYPS", "type": typ, "event_id": eventID, "created_at": sqTime(s.now()),
		"data": map[string]any{"type": dataType, "id": r.id, "object": object},
	})
}
