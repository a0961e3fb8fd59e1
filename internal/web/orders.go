package web

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/records"
)

var orderList = listSpec{object: "order", section: "orders", path: "/orders", title: key("orders.title"), empty: key("orders.empty"),
	states: []listState{
		{value: "open", label: key("orders.state_open"), opts: records.ListOptions{Status: "open"}},
		{value: "all", label: key("orders.state_all")},
	},
	item: func(l *loc, rec api.Record) item {
		return item{Title: l.T("order.title", firstOf(rec, "reference", "id")), Href: "/orders/" + url.PathEscape(rec.ID),
			Detail: l.T("order.placed", l.Money(num(rec, "total"), str(rec, "currency")), dateField(l, rec, "created_at"))}
	}}

// orderPage is one order.
type orderPage struct {
	Rec                  *api.Record
	Title, Total, Placed string
	Lines                []orderLine
	Shipments            []shipment
	freshness
}

type orderLine struct{ Name, Quantity, UnitPrice, Amount string }

type shipment struct {
	Status, Carrier, Number, Shipped, Recipient string
	// Tracking is the carrier's tracking page: an http or https URL only,
	// else empty (and the number is shown without a link).
	Tracking string
}

func (wb *Web) orderDetail(w http.ResponseWriter, r *http.Request) {
	rec, err := wb.d.API.Record(r.Context(), "order", chi.URLParam(r, "id"), false)
	if wb.readFailed(w, r, err) {
		return
	}
	wb.viewed(r, "order", rec.ID)
	v := wb.newView(r, key("order.page_title"), nil)
	v.Section = "orders"
	l := v.L
	p := orderPage{Rec: rec, Title: l.T("order.title", firstOf(*rec, "reference", "id")),
		Total: l.Money(num(*rec, "total"), str(*rec, "currency")), Placed: dateField(l, *rec, "created_at")}
	for _, ln := range gjson.GetBytes(rec.Fields, "lines").Array() {
		qty, price, cur := ln.Get("quantity").Float(), ln.Get("unit_price").Float(), ln.Get("currency").String()
		p.Lines = append(p.Lines, orderLine{Name: ln.Get("name").String(), Quantity: l.Quantity(ln.Get("quantity").Float()),
			UnitPrice: l.Money(price, cur), Amount: l.Money(qty*price, cur)})
	}
	for _, sh := range gjson.GetBytes(rec.Fields, "shipments").Array() {
		p.Shipments = append(p.Shipments, shipment{Status: l.T("shipment.status." + shipmentStatus(sh.Get("status").String())),
			Carrier: sh.Get("carrier").String(), Number: sh.Get("tracking_number").String(),
			Shipped: dateString(l, sh.Get("shipped_at").String()), Recipient: sh.Get("recipient").String(),
			Tracking: webURL(sh.Get("tracking_url").String())})
	}
	p.freshness = wb.recordFreshness(l, rec.Freshness, "order")
	v.Page = p
	wb.render(w, r, http.StatusOK, "order", v)
}

// webURL is s when it is an absolute http or https URL, else "": a link
// from a source must not become javascript: or data: in the page.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// shipmentStatus is a shipment's status as the catalogs name it.
func shipmentStatus(s string) string {
	switch s {
	case "preparing", "ready_to_ship", "shipped", "canceled":
		return s
	}
	return "unknown"
}
