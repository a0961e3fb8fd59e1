package fakesource

import (
	"fmt"
	"time"
	_ "time/tzdata" // qbZone
)

// qbZone is the simulated company's time zone, Pacific time; QuickBooks
// renders times in it, so the offset follows daylight saving time: -08:00
// in winter, -07:00 in summer. (time/tzdata carries the zone, so a machine
// without a zoneinfo database simulates the same.)
var qbZone = func() *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		panic("fakesource: " + err.Error())
	}
	return loc
}()

// qbTime formats QuickBooks' MetaData times: 2015-10-01T16:48:43-07:00.
func qbTime(t time.Time) string { return t.In(qbZone).Format("2006-01-02T15:04:05-07:00") }

func qbDate(t time.Time) string { return t.In(qbZone).Format("2006-01-02") }

func (w *world) qbIDOf() (func(int64) string, func(string) (int64, bool)) { return qbID, qbSeq }

func qbRef(value, name string) map[string]any {
	m := map[string]any{"value": value}
	if name != "" {
		m["name"] = name
	}
	return m
}

var usd = map[string]any{"value": "USD", "name": "United States Dollar"}

func qbVersion(_ int, r *rnd) int64 { return int64(r.intn(4)) }

func (w *world) buildAccounting() {
	nA := w.count(Salesforce, "Account")
	nInv := w.count(Accounting, "Invoice")
	nPay := w.count(Accounting, "Payment")
	nCM := w.count(Accounting, "CreditMemo")
	nAtt := w.count(Accounting, "Attachable")
	sfAcct, _ := sfIDOf("001")

	// invoiceLines builds invoice j's lines (build=false only sums them, for balances).
	invoiceLines := func(j int, build bool) ([]any, float64) {
		r := newRnd(w.seed, tagOf("qb-invoice-lines"), j)
		var lines []any
		var total float64
		for k := range 1 + r.intn(3) {
			qty := 1 + r.intn(5)
			price := money(5 + r.float()*195)
			amt := money(price * float64(qty))
			total += amt
			desc, item := pick(r, products), 1+r.intn(20)
			if !build {
				continue
			}
			lines = append(lines, map[string]any{
				"Id": fmt.Sprint(k + 1), "LineNum": k + 1, "Amount": amt, "DetailType": "SalesItemLineDetail",
				"Description": desc,
				"SalesItemLineDetail": map[string]any{
					"ItemRef": qbRef(fmt.Sprint(item), "Services"), "UnitPrice": price, "Qty": qty,
					"TaxCodeRef": map[string]any{"value": "NON"},
				},
			})
		}
		total = money(total)
		if build {
			lines = append(lines, map[string]any{"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": map[string]any{}})
		}
		return lines, total
	}
	// invoice j is paid in full when some payment points at it
	paidBy := func(j int) int {
		i := firstChild(j, nPay, nInv)
		if i < nPay && parent(i, nPay, nInv) == j {
			return i
		}
		return -1
	}
	invBalance := func(j int) float64 {
		if paidBy(j) >= 0 {
			return 0
		}
		_, t := invoiceLines(j, false)
		return t
	}

	w.def(Accounting, "Customer", qbID, qbSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		a := w.account(i)
		var bal float64
		for j := firstChild(i, nInv, nA); j < nInv && parent(j, nInv, nA) == i; j++ {
			bal += invBalance(j)
		}
		addr := map[string]any{"Id": fmt.Sprint(i + 100), "Line1": a.street, "City": a.city, "CountrySubDivisionCode": a.state, "PostalCode": a.zip}
		m := map[string]any{
			"DisplayName": a.name, "CompanyName": a.name, "GivenName": a.first, "FamilyName": a.last,
			"FullyQualifiedName": a.name, "PrintOnCheckName": a.name,
			"PrimaryEmailAddr": map[string]any{"Address": fmt.Sprintf("billing@%s", a.domain)},
			"PrimaryPhone":     map[string]any{"FreeFormNumber": a.phone},
			"BillAddr":         addr, "ShipAddr": deepCopyMap(addr),
			"Job": false, "BillWithParent": false, "Balance": money(bal), "BalanceWithJobs": money(bal),
			"CurrencyRef": usd, "PreferredDeliveryMethod": "Email", "Taxable": false, "Active": r.intn(20) != 0,
			"Notes": "Salesforce Account " + sfAcct(int64(i)),
		}
		if a.parent >= 0 {
			pa := w.account(a.parent)
			m["ParentRef"] = qbRef(qbID(int64(a.parent)), pa.name)
			m["Job"] = true
			m["FullyQualifiedName"] = pa.name + ":" + a.name
		}
		return m
	}, qbVersion, "DisplayName")

	w.def(Accounting, "Invoice", qbID, qbSeq, func(j int, r *rnd, st time.Time) map[string]any {
		a := parent(j, nInv, nA)
		info := w.account(a)
		lines, total := invoiceLines(j, true)
		txn := st.Add(-time.Duration(r.intn(20)) * 24 * time.Hour)
		m := map[string]any{
			"DocNumber": fmt.Sprint(1001 + j), "TxnDate": qbDate(txn), "DueDate": qbDate(txn.Add(30 * 24 * time.Hour)),
			"CustomerRef": qbRef(qbID(int64(a)), info.name), "CurrencyRef": usd, "Line": lines,
			"TotalAmt": total, "Balance": total, "EmailStatus": pick(r, []string{"EmailSent", "EmailSent", "NotSet", "NeedToSend"}),
			"BillEmail": map[string]any{"Address": "billing@" + info.domain}, "TxnTaxDetail": map[string]any{"TotalTax": 0},
			"LinkedTxn": []any{}, "AllowOnlinePayment": false,
		}
		if p := paidBy(j); p >= 0 {
			m["Balance"] = 0.0
			m["LinkedTxn"] = []any{map[string]any{"TxnId": qbID(int64(p)), "TxnType": "Payment"}}
		}
		return m
	}, qbVersion, "CustomerRef", "Line")

	w.def(Accounting, "Payment", qbID, qbSeq, func(i int, r *rnd, st time.Time) map[string]any {
		j := parent(i, nPay, nInv)
		a := parent(j, nInv, nA)
		_, total := invoiceLines(j, false)
		return map[string]any{
			"CustomerRef": qbRef(qbID(int64(a)), w.account(a).name), "TotalAmt": total, "UnappliedAmt": 0,
			"TxnDate": qbDate(st), "CurrencyRef": usd, "PaymentRefNum": fmt.Sprint(5000 + i), "ProcessPayment": false,
			"Line": []any{map[string]any{"Amount": total, "LinkedTxn": []any{map[string]any{"TxnId": qbID(int64(j)), "TxnType": "Invoice"}}}},
		}
	}, qbVersion, "CustomerRef", "TotalAmt")

	w.def(Accounting, "CreditMemo", qbID, qbSeq, func(i int, r *rnd, st time.Time) map[string]any {
		a := parent(i, nCM, nA)
		amt := money(10 + r.float()*90)
		return map[string]any{
			"DocNumber": fmt.Sprintf("CM-%d", 1001+i), "TxnDate": qbDate(st), "CustomerRef": qbRef(qbID(int64(a)), w.account(a).name),
			"CurrencyRef": usd, "TotalAmt": amt, "Balance": amt, "RemainingCredit": amt,
			"Line": []any{map[string]any{"Id": "1", "LineNum": 1, "Amount": amt, "DetailType": "SalesItemLineDetail", "Description": "Goodwill credit",
				"SalesItemLineDetail": map[string]any{"ItemRef": qbRef("1", "Services"), "TaxCodeRef": map[string]any{"value": "NON"}}}},
		}
	}, qbVersion, "CustomerRef", "Line")

	w.def(Accounting, "Attachable", qbID, qbSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		j := parent(i, nAtt, nInv)
		return map[string]any{
			"FileName": fmt.Sprintf("invoice-%d-receipt.pdf", 1001+j), "ContentType": "application/pdf", "Size": 10000 + r.intn(500000),
			"Note":          "Signed delivery receipt",
			"AttachableRef": []any{map[string]any{"EntityRef": map[string]any{"type": "Invoice", "value": qbID(int64(j))}, "IncludeOnSend": false}},
		}
	}, qbVersion, "AttachableRef")
}
