package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// Accounts of the fixture: Parent is Alpha's parent account; Beta stands
// alone. Every record id embeds its account's letter so a leak is obvious.
const (
	Parent = "001P00000000001AAA"
	Alpha  = "001A00000000001AAA"
	Beta   = "001B00000000001AAA"
)

// Fixture stores raw source records in the cache through the shipped
// mappings, as a sync would, for tests of what users see (the API's and
// the portal pages'). IDs are every stored record id by account and
// portal object.
type Fixture struct {
	T    testing.TB
	Pool *pgxpool.Pool
	Set  *mapping.Set
	IDs  map[string]map[string][]string
}

// Epoch is when the fixture's records were made.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// SFTime formats t as Salesforce does.
func SFTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000+0000") }

// Put maps raw source records through the shipped mapping and stores
// them, owned by account (set directly, as the cache does once a
// reference or parent resolves).
func (e *Fixture) Put(connection, sourceObject, account string, raws ...map[string]any) []string {
	e.T.Helper()
	obj, ok := e.Set.BySource(connection, sourceObject)
	require.True(e.T, ok, sourceObject)
	var rows []store.Row
	var ids []string
	for i, raw := range raws {
		b, err := json.Marshal(raw)
		require.NoError(e.T, err)
		m, err := obj.ToPortal(b)
		require.NoError(e.T, err)
		mod := Epoch.Add(time.Duration(len(e.IDs[account][obj.Name()])+i) * time.Hour)
		row, err := syncer.MapRecord(obj, connectors.Record{Object: sourceObject, ID: m.ID, Version: "v1", Modified: mod, Raw: b})
		require.NoError(e.T, err)
		if !obj.Public() {
			row.OwnerAccount, row.OwnerRefKey, row.OwnerRefValue = account, "", ""
		}
		rows = append(rows, row)
		ids = append(ids, m.ID)
	}
	_, err := store.UpsertRows(context.Background(), e.Pool, store.Page{TenantID: 1, Connection: connection, Object: obj.Name(), SourceObject: sourceObject, MappingHash: obj.Hash()}, rows)
	require.NoError(e.T, err)
	if e.IDs[account] == nil {
		e.IDs[account] = map[string][]string{}
	}
	e.IDs[account][obj.Name()] = append(e.IDs[account][obj.Name()], ids...)
	return ids
}

// Seed stores the standard world: for each of Parent, Alpha and Beta
// three cases (new, working, closed) with comments (one unpublished),
// three quotes (the presented one with two lines), two invoices with payments and two orders; and three
// public articles (one a draft).
func (e *Fixture) Seed() {
	e.T.Helper()
	e.Put("salesforce", "Account", Parent, SFAccount(Parent, "Parent Holdings", ""))
	e.Put("salesforce", "Account", Alpha, SFAccount(Alpha, "Alpha Ltd", Parent))
	e.Put("salesforce", "Account", Beta, SFAccount(Beta, "Beta GmbH", ""))
	for _, acc := range []string{Parent, Alpha, Beta} {
		l := acc[3:4] // P, A or B
		var cases []map[string]any
		for i := range 3 {
			status := []string{"New", "Working", "Closed"}[i]
			cases = append(cases, SFCase(fmt.Sprintf("500%s00000000%03d", l, i), acc, status))
		}
		caseIDs := e.Put("salesforce", "Case", acc, cases...)
		e.Put("salesforce", "CaseComment", acc,
			SFComment("00a"+l+"00000000001", caseIDs[0], "We are on it", true),
			SFComment("00a"+l+"00000000002", caseIDs[0], "Internal note", false),
			SFComment("00a"+l+"00000000003", caseIDs[1], "Please send logs", true))
		e.Put("salesforce", "Quote", acc,
			SFQuote("0Q0"+l+"00000000001", acc, "Presented"), SFQuote("0Q0"+l+"00000000002", acc, "Accepted"),
			SFQuote("0Q0"+l+"00000000003", acc, "Draft"))
		// The presented quote's lines, stored in the other order than
		// their positions: 2 x 450.25 + 300 = the quote's 1200.50.
		e.Put("salesforce", "QuoteLineItem", acc,
			SFQuoteLine("0QL"+l+"00000000002", "0Q0"+l+"00000000001", acc, 2, "Installation", 1, 300),
			SFQuoteLine("0QL"+l+"00000000001", "0Q0"+l+"00000000001", acc, 1, "Router rental, 12 months", 2, 450.25))
		inv := e.Put("accounting", "Invoice", acc, QBInvoice("9"+l+"1", 100, 40), QBInvoice("9"+l+"2", 50, 0))
		e.Put("accounting", "Payment", acc, QBPayment("8"+l+"1", 60, inv[0]), QBPayment("8"+l+"2", 50, inv[1]))
		e.Put("inventory", "order", acc, SQOrder("ORD"+l+"1", "OPEN"), SQOrder("ORD"+l+"2", "COMPLETED"))
	}
	e.Put("salesforce", "Knowledge__kav", "",
		SFArticle("ka0000000000001", "Resetting your router", "Turn it off and on", "Unplug the router for ten seconds.", "Online"),
		SFArticle("ka0000000000002", "Billing questions", "Invoices and payments", "Your invoice lists every router you rented.", "Online"),
		SFArticle("ka0000000000003", "Draft router secrets", "Not yet", "router router router", "Draft"))
}

// SFAccount is a raw Salesforce Account.
func SFAccount(id, name, parent string) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": "Account"}, "Id": id, "Name": name,
		"SystemModstamp": SFTime(Epoch), "LastModifiedDate": SFTime(Epoch), "QuickBooks_Customer_Id__c": "qb-" + id}
	if parent != "" {
		m["ParentId"] = parent
	}
	return m
}

// SFCase is a raw Salesforce Case of account.
func SFCase(id, account, status string) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": "Case"}, "Id": id, "CaseNumber": "0000" + id[len(id)-4:],
		"Subject": "Printer on fire " + id, "Description": "It smokes", "Status": status, "Priority": "High",
		"AccountId": account, "ContactId": "003" + account[3:], "CreatedDate": SFTime(Epoch),
		"SystemModstamp": SFTime(Epoch.Add(time.Hour)), "LastModifiedDate": SFTime(Epoch.Add(time.Hour))}
	if status == "Closed" {
		m["ClosedDate"] = SFTime(Epoch.Add(2 * time.Hour))
	}
	return m
}

// SFContact is a raw Salesforce Contact of account: the contact the
// users of account are ("003" and the account id's tail).
func SFContact(account, first, last string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Contact"}, "Id": "003" + account[3:], "AccountId": account,
		"FirstName": first, "LastName": last, "Email": strings.ToLower(first) + "@example.test", "Phone": "+1 555 0100",
		"Title": "Buyer", "SystemModstamp": SFTime(Epoch), "LastModifiedDate": SFTime(Epoch)}
}

// SFComment is a raw Salesforce CaseComment.
func SFComment(id, caseID, body string, published bool) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "CaseComment"}, "Id": id, "ParentId": caseID, "CommentBody": body,
		"IsPublished": published, "CreatedById": "005000000000001", "CreatedDate": SFTime(Epoch.Add(30 * time.Minute)),
		"SystemModstamp": SFTime(Epoch.Add(30 * time.Minute))}
}

// SFQuote is a raw Salesforce Quote, in euros for Beta and in dollars
// for the others.
func SFQuote(id, account, status string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Quote"}, "Id": id, "Name": "Quote " + id, "Status": status,
		"GrandTotal": 1200.5, "CurrencyIsoCode": quoteCurrency(account), "ExpirationDate": "2026-06-30", "AccountId": account,
		"ContactId": "003" + account[3:], "SystemModstamp": SFTime(Epoch), "LastModifiedDate": SFTime(Epoch)}
}

func quoteCurrency(account string) string {
	if account == Beta {
		return "EUR"
	}
	return "USD"
}

// SFQuoteLine is a raw Salesforce QuoteLineItem of quote, the pos-th
// line, in the quote's currency.
func SFQuoteLine(id, quote, account string, pos int, name string, qty, unit float64) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "QuoteLineItem"}, "Id": id, "QuoteId": quote,
		"Description": name, "Quantity": qty, "UnitPrice": unit, "Subtotal": qty * unit, "Discount": 0.0, "TotalPrice": qty * unit,
		"CurrencyIsoCode": quoteCurrency(account), "SortOrder": pos, "Product2Id": "01t000000000001",
		"SystemModstamp": SFTime(Epoch), "LastModifiedDate": SFTime(Epoch)}
}

// SFArticle is a raw Salesforce knowledge article.
func SFArticle(id, title, summary, body, status string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Knowledge__kav"}, "Id": id, "Title": title, "Summary": summary,
		"UrlName": strings.ToLower(strings.ReplaceAll(title, " ", "-")), "ArticleBody__c": body, "PublishStatus": status,
		"SystemModstamp": SFTime(Epoch), "LastModifiedDate": SFTime(Epoch)}
}

// QBInvoice is a raw QuickBooks Invoice.
func QBInvoice(id string, total, balance float64) map[string]any {
	return map[string]any{"Id": id, "DocNumber": "INV-" + id, "TxnDate": "2026-02-01", "DueDate": "2026-03-01",
		"TotalAmt": total, "Balance": balance, "CurrencyRef": map[string]any{"value": "USD"}, "CustomerRef": map[string]any{"value": "58"},
		"SyncToken": "0", "MetaData": map[string]any{"LastUpdatedTime": "2026-02-01T10:00:00-08:00"},
		"Line": []any{map[string]any{"DetailType": "SalesItemLineDetail", "Amount": total, "Description": "Router rental",
			"SalesItemLineDetail": map[string]any{"Qty": 1, "UnitPrice": total, "ItemRef": map[string]any{"value": "7"}}}}}
}

// QBPayment is a raw QuickBooks Payment of an invoice.
func QBPayment(id string, amount float64, invoice string) map[string]any {
	return map[string]any{"Id": id, "TotalAmt": amount, "TxnDate": "2026-02-10", "CurrencyRef": map[string]any{"value": "USD"},
		"CustomerRef": map[string]any{"value": "58"}, "SyncToken": "0", "MetaData": map[string]any{"LastUpdatedTime": "2026-02-10T10:00:00-08:00"},
		"Line": []any{map[string]any{"Amount": amount, "LinkedTxn": []any{map[string]any{"TxnId": invoice, "TxnType": "Invoice"}}}}}
}

// SQOrder is a raw Square order with one shipment.
func SQOrder(id, state string) map[string]any {
	return map[string]any{"id": id, "customer_id": "SQ" + id, "state": state, "version": 1, "location_id": "L1",
		"created_at": "2026-02-01T10:00:00Z", "updated_at": "2026-02-02T10:00:00Z",
		"total_money": map[string]any{"amount": 2500, "currency": "USD"},
		"line_items": []any{map[string]any{"uid": "li1", "name": "Router", "quantity": "1", "catalog_object_id": "P1",
			"base_price_money": map[string]any{"amount": 2500, "currency": "USD"}}},
		"fulfillments": []any{map[string]any{"uid": "f1", "type": "SHIPMENT", "state": "COMPLETED",
			"shipment_details": map[string]any{"carrier": "UPS", "tracking_number": "1Z999", "shipped_at": "2026-02-02T09:00:00Z",
				"recipient": map[string]any{"display_name": "Ada"}}}}}
}
