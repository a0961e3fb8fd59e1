package fakesource

import (
	"fmt"
	"time"
)

// acctInfo is the shared identity of account a, used alike by the three systems.
type acctInfo struct {
	name, domain, city, state, zip, street, phone, industry string
	first, last                                             string
	parent                                                  int // -1 when none
}

// account returns account a's identity, computed once per world.
func (w *world) account(a int) acctInfo {
	if a >= 0 && a < len(w.accounts) {
		return w.accounts[a]
	}
	return w.makeAccount(a)
}

func (w *world) makeAccount(a int) acctInfo {
	r := newRnd(w.seed, tagOf("account-identity"), a)
	c := pick(r, cities)
	name, domain := companyName(r)
	info := acctInfo{
		name: name, domain: domain, city: c.city, state: c.state, zip: c.zip,
		street: fmt.Sprintf("%d %s", 100+r.intn(9000), pick(r, streets)), phone: phone(r),
		industry: pick(r, industries), first: pick(r, firstNames), last: pick(r, lastNames), parent: -1,
	}
	// about one account in ten is a subsidiary of an earlier account
	if a >= 10 && a%10 == 3 {
		info.parent = a / 10
	}
	return info
}

func sfOwner(r *rnd) string { return sfID("005", int64(r.intn(5))) }

func sfDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

var (
	caseStatuses   = []string{"New", "Working", "Escalated", "Waiting on Customer", "Closed", "Closed", "Closed"}
	quoteStatuses  = []string{"Draft", "Needs Review", "Presented", "Accepted", "Denied"}
	publishStatus  = []string{"Online", "Online", "Online", "Draft", "Archived"}
	fileTypes      = []struct{ ext, typ string }{{"pdf", "PDF"}, {"png", "PNG"}, {"docx", "WORD_X"}, {"xlsx", "EXCEL_X"}, {"jpg", "JPG"}}
	sfAccountTypes = []string{"Customer - Direct", "Customer - Channel", "Prospect", "Partner"}
)

func (w *world) buildSalesforce() {
	nA := w.count(Salesforce, "Account")
	nC := w.count(Salesforce, "Contact")
	nCase := w.count(Salesforce, "Case")
	nCC := w.count(Salesforce, "CaseComment")
	nCV := w.count(Salesforce, "ContentVersion")
	nQ := w.count(Salesforce, "Quote")
	qbCust, _ := w.qbIDOf()
	sqCust, _ := w.sqIDOf("Customer")
	acctID, acctSeq := sfIDOf("001")
	contactID, contactSeq := sfIDOf("003")
	caseID, caseSeq := sfIDOf("500")

	w.def(Salesforce, "Account", acctID, acctSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		a := w.account(i)
		var parentID any
		if a.parent >= 0 {
			parentID = acctID(int64(a.parent))
		}
		return map[string]any{
			"Name": a.name, "Type": pick(r, sfAccountTypes), "ParentId": parentID, "Industry": a.industry,
			"BillingStreet": a.street, "BillingCity": a.city, "BillingState": a.state, "BillingPostalCode": a.zip,
			"BillingCountry": "United States", "Phone": a.phone, "Website": "https://www." + a.domain,
			"AccountNumber": fmt.Sprintf("ACC-%06d", i+1), "OwnerId": sfOwner(r),
			"QuickBooks_Customer_Id__c": qbCust(int64(i)), "Square_Customer_Id__c": sqCust(int64(i)),
		}
	}, nil, sfRequiredFields["Account"]...)

	w.def(Salesforce, "Contact", contactID, contactSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		a := parent(i, nC, nA)
		info := w.account(a)
		first, last := pick(r, firstNames), pick(r, lastNames)
		if i == firstChild(a, nC, nA) {
			first, last = info.first, info.last
		}
		return map[string]any{
			"AccountId": acctID(int64(a)), "FirstName": first, "LastName": last, "Name": first + " " + last,
			"Email": fmt.Sprintf("%s.%s%d@%s", slug(first), slug(last), i, info.domain), "Phone": phone(r),
			"Title": pick(r, titles), "MailingCity": info.city, "OwnerId": sfOwner(r),
		}
	}, nil, sfRequiredFields["Contact"]...)

	w.def(Salesforce, "Case", caseID, caseSeq, func(i int, r *rnd, st time.Time) map[string]any {
		c := parent(i, nCase, nC)
		a := parent(c, nC, nA)
		status := pick(r, caseStatuses)
		var closed any
		if status == "Closed" {
			closed = sfTime(st)
		}
		subj := pick(r, caseSubj)
		return map[string]any{
			"CaseNumber": fmt.Sprintf("%08d", 1001+i), "Subject": subj,
			"Description": subj + ". Reported by the customer through " + pick(r, []string{"the web form", "email", "phone"}) + ".",
			"Status":      status, "IsClosed": status == "Closed", "ClosedDate": closed,
			"Priority": pick(r, []string{"Low", "Medium", "Medium", "High"}), "Origin": pick(r, []string{"Web", "Email", "Phone"}),
			"Type":      pick(r, []string{"Question", "Problem", "Feature Request"}),
			"AccountId": acctID(int64(a)), "ContactId": contactID(int64(c)), "OwnerId": sfOwner(r),
			"Portico_Action_Id__c": nil,
		}
	}, nil, sfRequiredFields["Case"]...)

	ccID, ccSeq := sfIDOf("00a")
	w.def(Salesforce, "CaseComment", ccID, ccSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		return map[string]any{
			"ParentId": caseID(int64(parent(i, nCC, nCase))), "CommentBody": pick(r, commentTxt),
			"IsPublished": r.intn(4) != 0, "CreatedById": sfOwner(r),
		}
	}, nil, sfRequiredFields["CaseComment"]...)

	kaID, kaSeq := sfIDOf("ka0")
	w.def(Salesforce, "Knowledge__kav", kaID, kaSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		p := pick(r, products)
		title := fmt.Sprintf("How to clean your %s (%d)", p, i+1)
		return map[string]any{
			"Title": title, "Summary": "Step-by-step care guide for the " + p + ".", "UrlName": slug(title),
			"ArticleBody__c": "<p>Unplug the " + p + ", rinse all removable parts and let them dry.</p>",
			"PublishStatus":  pick(r, publishStatus), "Language": "en_US", "VersionNumber": 1 + r.intn(3),
			"KnowledgeArticleId": sfID("kA0", int64(i)), "IsLatestVersion": true,
		}
	}, nil, sfRequiredFields["Knowledge__kav"]...)

	cvID, cvSeq := sfIDOf("068")
	w.def(Salesforce, "ContentVersion", cvID, cvSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		ft := pick(r, fileTypes)
		title := pick(r, []string{"Packing slip", "Photo of damage", "Signed quote", "Warranty card", "Delivery note"})
		return map[string]any{
			"Title": title, "PathOnClient": fmt.Sprintf("%s-%d.%s", slug(title), i+1, ft.ext), "FileType": ft.typ,
			"ContentSize": 2048 + r.intn(4<<20), "VersionData": "/services/data/v59.0/sobjects/ContentVersion/" + cvID(int64(i)) + "/VersionData",
			"FirstPublishLocationId": caseID(int64(parent(i, nCV, nCase))),
			"ContentDocumentId":      sfID("069", int64(i)), "VersionNumber": "1", "IsLatest": true,
		}
	}, nil, sfRequiredFields["ContentVersion"]...)

	qID, qSeq := sfIDOf("0Q0")
	qlID, qlSeq := sfIDOf("0QL")
	nQL := w.count(Salesforce, "QuoteLineItem")
	// quoteTotals sums quote q's seed lines, so a quote's amounts are its lines'.
	quoteTotals := func(q int) (sub, total float64) {
		for k := firstChild(q, nQL, nQ); k < nQL && parent(k, nQL, nQ) == q; k++ {
			l := quoteLine(w.seed, k)
			sub += l.subtotal()
			total += l.total()
		}
		return money(sub), money(total)
	}
	w.def(Salesforce, "Quote", qID, qSeq, func(i int, r *rnd, st time.Time) map[string]any {
		a := parent(i, nQ, nA)
		sub, total := quoteTotals(i)
		return map[string]any{
			"Name": fmt.Sprintf("Q-%05d %s", i+1, pick(r, products)), "QuoteNumber": fmt.Sprintf("%08d", i+1),
			"Status": pick(r, quoteStatuses), "AccountId": acctID(int64(a)),
			"ContactId":       contactID(int64(firstChild(a, nC, nA))),
			"CurrencyIsoCode": "USD",
			"Subtotal":        sub, "Discount": money(sub - total), "GrandTotal": total, "TotalPrice": total,
			"ExpirationDate": sfDate(st.Add(30 * 24 * time.Hour)),
		}
	}, nil, sfRequiredFields["Quote"]...)

	w.def(Salesforce, "QuoteLineItem", qlID, qlSeq, func(k int, _ *rnd, _ time.Time) map[string]any {
		q := parent(k, nQL, nQ)
		return quoteLine(w.seed, k).fields(qID(int64(q)), k-firstChild(q, nQL, nQ), k)
	}, nil, sfRequiredFields["QuoteLineItem"]...)
}

// seedQuoteLine is one quote line's values, drawn from (seed, line index) alone so that
// its quote can sum its lines without generating them.
type seedQuoteLine struct {
	product       string
	qty           float64
	unit, list    float64
	discountPct   float64
	productNumber int
}

func quoteLine(seed int64, k int) seedQuoteLine {
	r := newRnd(seed, tagOf("sf-quote-line"), k)
	list := money(20 + r.float()*980)
	l := seedQuoteLine{product: pick(r, products), qty: float64(1 + r.intn(12)), list: list, discountPct: float64(r.intn(3) * 5)}
	l.unit = list
	l.productNumber = r.intn(40)
	return l
}

func (l seedQuoteLine) subtotal() float64 { return money(l.qty * l.unit) }
func (l seedQuoteLine) total() float64    { return money(l.qty * l.unit * (1 - l.discountPct/100)) }

// fields renders the line as Salesforce stores it: the n-th line of quote quoteID.
func (l seedQuoteLine) fields(quoteID string, n, k int) map[string]any {
	return map[string]any{
		"QuoteId": quoteID, "LineNumber": fmt.Sprintf("%08d", k+1), "Product2Id": sfID("01t", int64(l.productNumber)),
		"Description": l.product, "Quantity": l.qty, "UnitPrice": l.unit, "ListPrice": l.list,
		"Subtotal": l.subtotal(), "Discount": l.discountPct, "TotalPrice": l.total(),
		"CurrencyIsoCode": "USD", "SortOrder": n + 1,
	}
}

// sfTime formats a Salesforce datetime: 2013-05-07T22:07:19.000+0000.
func sfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
