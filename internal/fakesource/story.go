package fakesource

import (
	"fmt"
	"time"
)

// Story is the demo world `portico dev` opens on, told over the seed by TellStory: three
// Salesforce accounts (Child, a subsidiary of Parent, and the unrelated Other) whose
// people, cases, quotes, invoices and orders say what a customer portal is for, linked
// across the three systems as the seed links every account (the QuickBooks and Square
// customers named by the account's QuickBooks_Customer_Id__c and Square_Customer_Id__c).
type Story struct {
	Parent, Child, Other string // Salesforce account ids
	// People are the accounts' contacts the demo users are: two of Child, two of Other
	// and one of Parent, in that order.
	People []Person
	// WaitingCase is the case of Child waiting for its customer: its status is "Waiting
	// on Customer" and its newest published comment, from the support team, is Question.
	WaitingCase, Question string
	// Quotes are the quotes presented for a decision (Child's in USD, Other's in EUR).
	Quotes []string
}

// Person is one contact of the story.
type Person struct {
	First, Last, Email string
	Account, Contact   string // Salesforce ids
}

// storySubject marks a told story: the waiting case's subject.
const storySubject = "Espresso grinder rattles since Monday"

const storyQuestion = "Thanks for the video, Mark. To send the right replacement burrs we need the serial " +
	"number on the underside of the grinder (it starts with EG-). Could you reply with it?"

// storyPeople are the story's contacts, in Story.People's order.
var storyPeople = []struct{ first, last, email string }{
	{"Alice", "Adams", "alice.admin@demo.portico.test"},
	{"Mark", "Meyer", "mark.member@demo.portico.test"},
	{"Bianca", "Berg", "bianca.billing@demo.portico.test"},
	{"Owen", "Ortiz", "owen.member@demo.portico.test"},
	{"Paula", "Parker", "paula.parent@demo.portico.test"},
}

// storyLine is one line of a story quote.
type storyLine struct {
	product     string
	qty, unit   float64
	discountPct float64
}

// TellStory tells the demo story over the seed, once: a later call (after a restart that
// replayed the journal, too) finds the story told and changes nothing. It needs the
// seed to hold an account with a parent account (about 250 records or more).
//
// The story, with dates relative to the simulator's clock: Child's two contacts (Alice
// and Mark) have a case each, Mark's waiting for him with the support team's question and
// Alice's in progress; a quote of three lines awaits their decision, an invoice is due in
// two weeks and an order is on its way with a tracking link. Other's (Bianca and Owen)
// have a new case, a quote in euros, an invoice due in ten days and an order on its way.
// Parent's admin (Paula) sees Child's records through the hierarchy. The three accounts'
// seed records are settled around it: their other cases closed, quotes accepted, orders
// completed, and open invoices overdue by a few days.
func (s *Sim) TellStory() (Story, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.castLocked()
	if err != nil {
		return Story{}, err
	}
	st, waiting := c.story, c.waiting
	if waiting.fields["Subject"] == storySubject {
		st.Quotes = s.storyQuotesLocked(st)
		return st, nil // told before
	}
	cc, oc := c.childContacts, c.otherContacts
	contacts := s.store.object(Salesforce, "Contact")
	caseOf := c.caseOf
	child, other, parentIdx := c.child, c.other, c.parent
	today := s.now().UTC().Truncate(24 * time.Hour)
	staff := sfID("005", 1)
	cases := s.store.object(Salesforce, "Case")
	sfEdit := func(obj string, r *record, fields map[string]any) {
		if r != nil && !r.deleted {
			s.sfUpdateLocked(s.store.object(Salesforce, obj), r, fields)
		}
	}
	now := s.now().UTC()
	// sfCreate enters a record made at created (the story's past).
	sfCreate := func(obj string, created time.Time, fields map[string]any) string {
		o := s.store.object(Salesforce, obj)
		return s.createAtLocked(o, s.sf.complete(o, fields), time.Time{}, created).id
	}
	// storyCase reopens a seed case as the story's, opened at created.
	storyCase := func(r *record, created time.Time, fields map[string]any) {
		s.unpublishCommentsLocked(r)
		n := s.updateLocked(cases, r, func(n *record) {
			mergeFields(n.fields, fields)
			n.fields["IsClosed"], n.fields["ClosedDate"] = false, nil
			n.created = created.Truncate(time.Millisecond)
		})
		s.sfIndexLocked(cases, n)
	}

	// The people.
	for _, p := range st.People {
		sfEdit("Contact", contacts.get(p.Contact), map[string]any{"FirstName": p.First, "LastName": p.Last, "Email": p.Email})
	}
	// The accounts' other records settle into their history.
	keep := map[string]bool{waiting.id: true}
	for _, c := range []int{cc[0], oc[1]} {
		if r := caseOf(c); r != nil {
			keep[r.id] = true
		}
	}
	for _, a := range []int{child, other, parentIdx} {
		s.settleLocked(a, keep)
	}
	// Cases: Mark's waits for him, Alice's is in progress, Owen's is new.
	storyCase(waiting, now.Add(-74*time.Hour), map[string]any{"Subject": storySubject, "Status": "Waiting on Customer",
		"Priority": "High", "Type": "Problem", "Origin": "Web",
		"Description": "The grinder at our front counter rattles loudly since Monday and the grind is uneven. A video is attached."})
	sfCreate("CaseComment", now.Add(-50*time.Hour), map[string]any{"ParentId": waiting.id,
		"CommentBody": "Thank you, we received your video and are looking into it.", "IsPublished": true, "CreatedById": staff})
	sfCreate("CaseComment", now.Add(-3*time.Hour), map[string]any{"ParentId": waiting.id, "CommentBody": storyQuestion,
		"IsPublished": true, "CreatedById": staff})
	if c := caseOf(cc[0]); c != nil {
		storyCase(c, now.Add(-6*24*time.Hour), map[string]any{"Subject": "Cold brew kits arrived without filter papers",
			"Status": "Working", "Priority": "Medium", "Type": "Problem", "Origin": "Email",
			"Description": "Order PO-CAFE-0409 came without the filter papers for the six cold brew kits."})
		sfCreate("CaseComment", now.Add(-5*24*time.Hour), map[string]any{"ParentId": c.id,
			"CommentBody": "We are packing the missing filter papers; they leave with your next order.", "IsPublished": true, "CreatedById": staff})
	}
	if c := caseOf(oc[1]); c != nil {
		storyCase(c, now.Add(-20*time.Hour), map[string]any{"Subject": "Milk frother leaks at the steam wand", "Status": "New",
			"Priority": "Medium", "Type": "Problem", "Origin": "Web",
			"Description": "Since last week water drips from the steam wand of the milk frother."})
	}
	// Quotes awaiting a decision.
	s.storyQuoteLocked(st.Child, st.People[0].Contact, "Q-CAFE-2 Second espresso station", "USD", today.AddDate(0, 0, 21), []storyLine{
		{"Espresso Grinder", 1, 1249, 0}, {"Burr Set", 2, 89.5, 0}, {"Ceramic Mug", 48, 6.25, 10},
	})
	s.storyQuoteLocked(st.Other, st.People[2].Contact, "Q-ALPS-7 Spring restock", "EUR", today.AddDate(0, 0, 14), []storyLine{
		{"Travel Tumbler", 24, 18.9, 0}, {"Filter Papers", 10, 7.4, 0}, {"Descaling Tablets", 6, 12, 5},
	})
	st.Quotes = s.storyQuotesLocked(st)
	// Invoices due.
	s.storyInvoiceLocked(child, "2026-1042", today.AddDate(0, 0, -16), today.AddDate(0, 0, 14), []storyLine{
		{"Cold Brew Kit", 6, 64, 0}, {"Filter Papers", 12, 7.4, 0},
	})
	s.storyInvoiceLocked(other, "2026-1043", today.AddDate(0, 0, -20), today.AddDate(0, 0, 10), []storyLine{
		{"Milk Frother", 2, 149, 0},
	})
	// Orders on their way.
	s.storyOrderLocked(child, "PO-CAFE-0417", "UPS", today.AddDate(0, 0, -1))
	s.storyOrderLocked(other, "PO-ALPS-0032", "DHL", today.AddDate(0, 0, -2))
	return st, nil
}

// Cast names the story's accounts, people and waiting case without telling it (as
// TellStory would name them); the error is TellStory's.
func (s *Sim) Cast() (Story, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.castLocked()
	return c.story, err
}

// cast is who and what the story is about, by seed index.
type cast struct {
	story                        Story
	child, other, parent         int
	childContacts, otherContacts []int
	waiting                      *record
	caseOf                       func(contact int) *record // the contact's seed case, or nil
}

func (s *Sim) castLocked() (cast, error) {
	w := s.store.world
	child := -1
	for a, info := range w.accounts {
		if info.parent >= 0 {
			child = a
			break
		}
	}
	if child < 0 {
		return cast{}, fmt.Errorf("%w: the seed's %d accounts hold no account with a parent to tell the story with (seed more records)", ErrInvalid, len(w.accounts))
	}
	parentIdx, other := w.accounts[child].parent, -1
	for a, info := range w.accounts {
		if a != child && a != parentIdx && info.parent < 0 {
			other = a
			break
		}
	}
	if other < 0 {
		return cast{}, fmt.Errorf("%w: the seed holds no account apart from the story's hierarchy", ErrInvalid)
	}
	nA, nC := w.count(Salesforce, "Account"), w.count(Salesforce, "Contact")
	nCase := w.count(Salesforce, "Case")
	acctID, _ := sfIDOf("001")
	contactsOf := func(a int) []int {
		lo, hi := span(a, nC, nA)
		out := []int{}
		for c := lo; c < hi; c++ {
			out = append(out, c)
		}
		return out
	}
	cc, oc, pc := contactsOf(child), contactsOf(other), contactsOf(parentIdx)
	if len(cc) < 2 || len(oc) < 2 || len(pc) < 1 {
		return cast{}, fmt.Errorf("%w: the story's accounts need two contacts each", ErrInvalid)
	}
	contacts := s.store.object(Salesforce, "Contact")
	cases := s.store.object(Salesforce, "Case")
	caseOf := func(c int) *record {
		lo, hi := span(c, nCase, nC)
		if lo >= hi {
			return nil
		}
		return cases.get(cases.def.idOf(int64(lo)))
	}
	st := Story{Parent: acctID(int64(parentIdx)), Child: acctID(int64(child)), Other: acctID(int64(other)), Question: storyQuestion}
	for i, c := range []int{cc[0], cc[1], oc[0], oc[1], pc[0]} {
		p := storyPeople[i]
		st.People = append(st.People, Person{First: p.first, Last: p.last, Email: p.email,
			Account: acctID(int64(parent(c, nC, nA))), Contact: contacts.def.idOf(int64(c))})
	}
	waiting := caseOf(cc[1])
	if waiting == nil {
		return cast{}, fmt.Errorf("%w: the story's waiting case is missing", ErrInvalid)
	}
	st.WaitingCase = waiting.id
	return cast{story: st, child: child, other: other, parent: parentIdx, childContacts: cc, otherContacts: oc,
		waiting: waiting, caseOf: caseOf}, nil
}

// span is the index range of parent p's children among n records spread over np parents.
func span(p, n, np int) (int, int) { return firstChild(p, n, np), firstChild(p+1, n, np) }

// settleLocked turns account a's seed records into history: open cases closed, quotes
// decided, orders completed, and open invoices overdue by five days. The cases in keep
// are the story's own.
func (s *Sim) settleLocked(a int, keep map[string]bool) {
	w := s.store.world
	nA := w.count(Salesforce, "Account")
	each := func(system, object string, p, np int, fn func(o *objectState, r *record)) {
		o := s.store.object(system, object)
		lo, hi := span(p, o.def.seedN, np)
		for i := lo; i < hi; i++ {
			if r := o.get(o.def.idOf(int64(i))); r != nil && !r.deleted {
				fn(o, r)
			}
		}
	}
	nC := w.count(Salesforce, "Contact")
	lo, hi := span(a, nC, nA)
	for c := lo; c < hi; c++ {
		each(Salesforce, "Case", c, nC, func(o *objectState, r *record) {
			if r.fields["Status"] != "Closed" && !keep[r.id] {
				s.sfUpdateLocked(o, r, map[string]any{"Status": "Closed"})
			}
		})
	}
	each(Salesforce, "Quote", a, nA, func(o *objectState, r *record) {
		if r.fields["Status"] == "Presented" {
			s.sfUpdateLocked(o, r, map[string]any{"Status": "Accepted"})
		}
	})
	each(Inventory, "Order", a, nA, func(o *objectState, r *record) {
		if r.fields["state"] != "OPEN" {
			return
		}
		s.updateLocked(o, r, func(n *record) {
			n.fields["state"] = "COMPLETED"
			n.fields["closed_at"] = sqTime(s.now())
			for _, f := range asList(n.fields["fulfillments"]) {
				if m, ok := f.(map[string]any); ok {
					m["state"] = "COMPLETED"
				}
			}
		})
	})
	today := s.now().UTC().Truncate(24 * time.Hour)
	each(Accounting, "Invoice", a, nA, func(o *objectState, r *record) {
		if bal, _ := r.fields["Balance"].(float64); bal > 0 {
			s.updateLocked(o, r, func(n *record) {
				n.fields["TxnDate"] = qbDate(today.AddDate(0, 0, -35))
				n.fields["DueDate"] = qbDate(today.AddDate(0, 0, -5))
			})
		}
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// unpublishCommentsLocked makes case r's seed comments internal notes: the story tells
// its own.
func (s *Sim) unpublishCommentsLocked(r *record) {
	w := s.store.world
	o := s.store.object(Salesforce, "CaseComment")
	lo, hi := span(int(r.seq), o.def.seedN, w.count(Salesforce, "Case"))
	for i := lo; i < hi; i++ {
		if c := o.get(o.def.idOf(int64(i))); c != nil && !c.deleted && c.fields["IsPublished"] == true {
			s.sfUpdateLocked(o, c, map[string]any{"IsPublished": false})
		}
	}
}

// storyQuoteLocked creates a presented quote of account with its lines.
func (s *Sim) storyQuoteLocked(account, contact, name, currency string, expires time.Time, lines []storyLine) {
	quotes, items := s.store.object(Salesforce, "Quote"), s.store.object(Salesforce, "QuoteLineItem")
	var sub, total float64
	for _, l := range lines {
		sub += money(l.qty * l.unit)
		total += money(l.qty * l.unit * (1 - l.discountPct/100))
	}
	q := s.sf.complete(quotes, map[string]any{"Name": name, "Status": "Presented", "AccountId": account, "ContactId": contact,
		"CurrencyIsoCode": currency, "ExpirationDate": sfDate(expires)})
	q["Subtotal"], q["Discount"], q["GrandTotal"], q["TotalPrice"] = money(sub), money(sub-total), money(total), money(total)
	qr := s.createLocked(quotes, q, time.Time{})
	for n, l := range lines {
		f := s.sf.complete(items, map[string]any{"QuoteId": qr.id, "Description": l.product, "Quantity": l.qty, "UnitPrice": l.unit,
			"ListPrice": l.unit, "Discount": l.discountPct, "SortOrder": n + 1, "Product2Id": sfID("01t", int64(n))})
		f["CurrencyIsoCode"] = currency
		s.createLocked(items, f, time.Time{})
	}
}

// storyQuotesLocked finds the story's presented quotes (the newest quotes of Child and
// Other that are presented).
func (s *Sim) storyQuotesLocked(st Story) []string {
	o := s.store.object(Salesforce, "Quote")
	found := map[string]string{}
	for _, r := range o.sortedOverlay() {
		acc, _ := r.fields["AccountId"].(string)
		if !r.deleted && r.seq >= int64(o.def.seedN) && (acc == st.Child || acc == st.Other) {
			found[acc] = r.id
		}
	}
	var out []string
	for _, acc := range []string{st.Child, st.Other} {
		if id := found[acc]; id != "" {
			out = append(out, id)
		}
	}
	return out
}

// storyInvoiceLocked creates an open invoice of account a.
func (s *Sim) storyInvoiceLocked(a int, number string, issued, due time.Time, lines []storyLine) {
	w := s.store.world
	info := w.account(a)
	var items []any
	var total float64
	for k, l := range lines {
		amt := money(l.qty * l.unit)
		total += amt
		items = append(items, map[string]any{
			"Id": fmt.Sprint(k + 1), "LineNum": k + 1, "Amount": amt, "DetailType": "SalesItemLineDetail", "Description": l.product,
			"SalesItemLineDetail": map[string]any{"ItemRef": qbRef(fmt.Sprint(k+1), "Services"), "UnitPrice": l.unit, "Qty": l.qty,
				"TaxCodeRef": map[string]any{"value": "NON"}},
		})
	}
	total = money(total)
	items = append(items, map[string]any{"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": map[string]any{}})
	o := s.store.object(Accounting, "Invoice")
	s.createLocked(o, map[string]any{
		"DocNumber": number, "TxnDate": qbDate(issued), "DueDate": qbDate(due),
		"CustomerRef": qbRef(qbID(int64(a)), info.name), "CurrencyRef": usd, "Line": items,
		"TotalAmt": total, "Balance": total, "EmailStatus": "EmailSent",
		"BillEmail": map[string]any{"Address": "billing@" + info.domain}, "TxnTaxDetail": map[string]any{"TotalTax": 0},
		"LinkedTxn": []any{}, "AllowOnlinePayment": false,
	}, time.Time{})
}

// storyOrderLocked creates an open order of account a whose shipment left on shipped.
func (s *Sim) storyOrderLocked(a int, reference, carrier string, shipped time.Time) {
	w := s.store.world
	info := w.account(a)
	custID, _ := w.sqIDOf("Customer")
	locID, _ := w.sqIDOf("Location")
	varID, _ := w.sqIDOf("ItemVariation")
	nVar := max(w.count(Inventory, "ItemVariation"), 1)
	var lines []any
	for k := range 2 {
		v := (a + 3*k) % nVar
		lines = append(lines, map[string]any{
			"uid": fmt.Sprintf("li-%s-%d", reference, k), "name": sqItemName(v / 2), "variation_name": variants[v%len(variants)],
			"quantity": fmt.Sprint(2 + 4*k), "catalog_object_id": varID(int64(v)), "item_type": "ITEM",
			"base_price_money": sqMoney(w.sqPrice(v)),
		})
	}
	tracking := fmt.Sprintf("1Z%06X%010d", a, 4170+a)
	f := map[string]any{
		"location_id": locID(0), "reference_id": reference,
		"source": map[string]any{"name": "Portico Coffee Supply Online"}, "customer_id": custID(int64(a)),
		"line_items": lines,
		"fulfillments": []any{map[string]any{"uid": "ff-" + reference, "type": "SHIPMENT", "state": "COMPLETED", "shipment_details": map[string]any{
			"recipient": map[string]any{"display_name": info.first + " " + info.last, "email_address": "orders@" + info.domain,
				"address": map[string]any{"address_line_1": info.street, "locality": info.city, "administrative_district_level_1": info.state, "postal_code": info.zip, "country": "US"}},
			"carrier": carrier, "tracking_number": tracking, "tracking_url": "https://tracking.example.com/" + tracking,
			"shipped_at": sqTime(shipped.Add(15 * time.Hour)),
		}}},
		"state": "OPEN",
	}
	sqOrderTotals(f)
	s.createAtLocked(s.store.object(Inventory, "Order"), f, time.Time{}, shipped.Add(-40*time.Hour))
}
