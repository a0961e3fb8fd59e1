package web

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/records"
)

var invoiceList = listSpec{object: "invoice", section: "invoices", path: "/invoices", title: key("invoices.title"), empty: key("invoices.empty"),
	states: []listState{
		{value: "due", label: key("invoices.state_due"), opts: records.ListOptions{StatusNot: "paid"}},
		{value: "paid", label: key("invoices.state_paid"), opts: records.ListOptions{Status: "paid"}},
		{value: "all", label: key("invoices.state_all")},
	},
	item: invoiceItem}

func invoiceItem(l *loc, rec api.Record) item {
	it := item{Title: l.T("invoice.title", str(rec, "number")), Href: "/invoices/" + url.PathEscape(rec.ID)}
	if rec.Status == "paid" {
		it.Detail = l.T("invoice.paid_total", l.Money(num(rec, "total"), str(rec, "currency")))
	} else {
		it.Detail = l.T("invoice.due", l.Money(num(rec, "balance"), str(rec, "currency")), dateField(l, rec, "due_on"))
	}
	return it
}

// invoicePage is one invoice.
type invoicePage struct {
	Rec                              *api.InvoiceDetail
	Title, Total, Due, DueOn, Issued string
	Paid                             bool
	Lines                            []orderLine
	Payments                         []payment
	freshness
}

type payment struct{ On, Amount string }

func (wb *Web) invoiceDetail(w http.ResponseWriter, r *http.Request) {
	inv, err := wb.d.API.Invoice(r.Context(), chi.URLParam(r, "id"))
	if wb.readFailed(w, r, err) {
		return
	}
	wb.viewed(r, "invoice", inv.ID)
	v := wb.newView(r, key("invoice.page_title"), nil)
	v.Section = "invoices"
	l, rec := v.L, inv.Record
	cur := str(rec, "currency")
	p := invoicePage{Title: l.T("invoice.title", str(rec, "number")), Total: l.Money(num(rec, "total"), cur),
		Due: l.Money(num(rec, "balance"), cur), DueOn: dateField(l, rec, "due_on"), Issued: dateField(l, rec, "issued_on"),
		Paid: rec.Status == "paid"}
	p.Rec = inv
	for _, ln := range gjson.GetBytes(rec.Fields, "lines").Array() {
		p.Lines = append(p.Lines, orderLine{Name: ln.Get("description").String(), Quantity: l.Quantity(ln.Get("quantity").Float()),
			UnitPrice: l.Money(ln.Get("unit_price").Float(), cur), Amount: l.Money(ln.Get("amount").Float(), cur)})
	}
	for _, pm := range inv.Payments {
		p.Payments = append(p.Payments, payment{On: dateField(l, pm, "paid_on"), Amount: l.Money(num(pm, "amount"), str(pm, "currency"))})
	}
	p.freshness = wb.recordFreshness(l, rec.Freshness, "invoice")
	v.Page = p
	wb.render(w, r, http.StatusOK, "invoice", v)
}
