package documents

import (
	"github.com/tidwall/gjson"
)

// lineCols are the columns of a document's lines.
func lineCols(l *loc) []column {
	return []column{{l.T("lines.item"), 0.46, "L"}, {l.T("lines.quantity"), 0.14, "R"},
		{l.T("lines.unit_price"), 0.2, "R"}, {l.T("lines.amount"), 0.2, "R"}}
}

// invoiceBody is an invoice: its dates and totals, its lines, its
// payments and what is still due.
func invoiceBody(d *doc, src Source) {
	l, f := d.l, src.Record.Fields
	cur := str(f, "currency")
	d.title(l.T("invoice.title", str(f, "number")))
	paid := src.Record.Status == "paid"
	due := fact{l.T("invoice.amount_due"), l.Money(num(f, "balance"), cur), true}
	if paid {
		due = fact{}
	}
	d.facts(fact{label: l.T("status"), value: statusWords(src.Record)},
		fact{label: l.T("invoice.issued_on"), value: l.DateString(str(f, "issued_on"))},
		fact{label: l.T("invoice.due_on"), value: l.DateString(str(f, "due_on"))},
		fact{label: l.T("invoice.total"), value: l.Money(num(f, "total"), cur)},
		due)
	d.heading(l.T("invoice.lines"))
	var rows [][]string
	for _, ln := range gjson.GetBytes(f, "lines").Array() {
		rows = append(rows, []string{ln.Get("description").String(), l.Quantity(ln.Get("quantity").Float()),
			l.Money(ln.Get("unit_price").Float(), cur), l.Money(ln.Get("amount").Float(), cur)})
	}
	d.tableOr(lineCols(l), rows, l.T("invoice.no_lines"))
	d.heading(l.T("invoice.payments"))
	rows = rows[:0]
	for _, pm := range src.Related {
		pcur := str(pm.Fields, "currency")
		if pcur == "" {
			pcur = cur
		}
		rows = append(rows, []string{l.DateString(str(pm.Fields, "paid_on")), l.Money(num(pm.Fields, "amount"), pcur)})
	}
	d.tableOr([]column{{l.T("invoice.paid_on"), 0.6, "L"}, {l.T("lines.amount"), 0.4, "R"}}, rows, l.T("invoice.no_payments"))
	d.pdf.Ln(4)
	if paid {
		d.facts(fact{l.T("invoice.paid"), l.Money(num(f, "total"), cur), true})
	} else {
		d.facts(due)
	}
}

// quoteBody is an approval request (a quote, a contract): what is to be
// approved, line by line, its total and how long it stands.
func quoteBody(d *doc, src Source) {
	l, f := d.l, src.Record.Fields
	cur := str(f, "currency")
	kind := str(f, "kind")
	if kind != "quote" && kind != "contract" {
		kind = "other"
	}
	d.title(l.T("quote.title."+kind, str(f, "name")))
	total := l.Money(num(f, "total"), cur)
	d.facts(fact{label: l.T("status"), value: statusWords(src.Record)},
		fact{label: l.T("quote.valid_until"), value: l.DateString(str(f, "expires_on"))},
		fact{l.T("quote.total"), total, true},
		fact{label: l.T("quote.decision_reason"), value: str(f, "decision_reason")})
	d.heading(l.T("quote.lines"))
	var rows [][]string
	for _, ln := range src.Related {
		lcur := cur
		if lcur == "" {
			lcur = str(ln.Fields, "currency")
		}
		name := str(ln.Fields, "name")
		if pct := num(ln.Fields, "discount_percent"); pct != 0 {
			name = l.T("lines.with_discount", name, l.Quantity(pct))
		}
		if desc := str(ln.Fields, "description"); desc != "" {
			name += "\n" + desc
		}
		rows = append(rows, []string{name, l.Quantity(num(ln.Fields, "quantity")),
			l.Money(num(ln.Fields, "unit_price"), lcur), l.Money(num(ln.Fields, "total"), lcur)})
	}
	d.tableOr(lineCols(l), rows, l.T("quote.no_lines"))
	d.pdf.Ln(4)
	d.facts(fact{l.T("quote.total"), total, true})
	if src.Record.Status == "pending" {
		d.pdf.Ln(2)
		d.paragraph(l.T("quote.for_approval", total))
	}
}

// orderBody is an order confirmation: when it was placed, its lines and
// total, and its shipments.
func orderBody(d *doc, src Source) {
	l, f := d.l, src.Record.Fields
	ref := str(f, "reference")
	if ref == "" {
		ref = src.Record.ID
	}
	d.title(l.T("order.title", ref))
	cur := str(f, "currency")
	d.facts(fact{label: l.T("status"), value: statusWords(src.Record)},
		fact{label: l.T("order.placed_on"), value: l.DateString(str(f, "created_at"))},
		fact{l.T("order.total"), l.Money(num(f, "total"), cur), true})
	d.heading(l.T("order.lines"))
	var rows [][]string
	for _, ln := range gjson.GetBytes(f, "lines").Array() {
		qty, price, lcur := ln.Get("quantity").Float(), ln.Get("unit_price").Float(), ln.Get("currency").String()
		if lcur == "" {
			lcur = cur
		}
		rows = append(rows, []string{ln.Get("name").String(), l.Quantity(qty), l.Money(price, lcur), l.Money(qty*price, lcur)})
	}
	d.tableOr(lineCols(l), rows, l.T("order.no_lines"))
	d.heading(l.T("order.shipments"))
	rows = rows[:0]
	for _, sh := range gjson.GetBytes(f, "shipments").Array() {
		rows = append(rows, []string{l.T("shipment.status." + shipmentStatus(sh.Get("status").String())),
			sh.Get("carrier").String(), sh.Get("tracking_number").String(), l.DateString(sh.Get("shipped_at").String())})
	}
	d.tableOr([]column{{l.T("status"), 0.25, "L"}, {l.T("shipment.carrier"), 0.25, "L"},
		{l.T("shipment.number"), 0.3, "L"}, {l.T("shipment.shipped_on"), 0.2, "L"}}, rows, l.T("order.no_shipments"))
}

// shipmentStatus is a shipment's status as the catalogs name it.
func shipmentStatus(s string) string {
	switch s {
	case "preparing", "ready_to_ship", "shipped", "canceled":
		return s
	}
	return "unknown"
}

// caseBody is a case summary: the case, where it stands and its history
// as the case page tells it.
func caseBody(d *doc, src Source) {
	l, f := d.l, src.Record.Fields
	d.title(l.T("case.title", str(f, "subject")))
	d.facts(fact{label: l.T("case.number"), value: str(f, "number")},
		fact{label: l.T("status"), value: statusWords(src.Record)},
		fact{label: l.T("case.next_step"), value: src.Record.NextStep},
		fact{label: l.T("case.opened"), value: l.DateString(str(f, "created_at"))})
	if desc := str(f, "description"); desc != "" {
		d.heading(l.T("case.description"))
		d.paragraph(desc)
	}
	d.heading(l.T("case.timeline"))
	if len(src.Timeline) == 0 {
		d.empty(l.T("case.no_timeline"))
	}
	for _, st := range src.Timeline {
		var what string
		switch st.Kind {
		case "opened":
			what = l.T("timeline.opened")
		case "comment":
			what = l.T("timeline.comment")
		case "closed":
			what = l.T("timeline.closed")
		default:
			what = l.T("timeline.status", st.Label)
		}
		d.keepRoom(2 * lineH)
		d.font("", smallSize+1, muted)
		d.pdf.CellFormat(contentW, lineH, safe(l.DateTime(st.At)), "", 1, "L", false, 0, "")
		d.font("B", textSize, black)
		d.pdf.CellFormat(contentW, lineH, safe(what), "", 1, "L", false, 0, "")
		if st.Body != "" {
			d.paragraph(st.Body)
		}
		d.pdf.Ln(2)
	}
}

// statusWords is a record's status as the pages show it: its label, or
// the value itself.
func statusWords(r Record) string {
	if r.StatusLabel != "" {
		return r.StatusLabel
	}
	return r.Status
}
