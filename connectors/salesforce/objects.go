package salesforce

import (
	"context"
	"errors"
	"strings"

	"github.com/porticohq/portico/connectors"
)

// object is what the connector knows about one sObject.
type object struct {
	writable bool
	fields   []string // besides Id and the system stamps
}

// systemFields are selected from every object.
// ExternalIDField is among them: it ties a record to the portal action
// that created it.
var systemFields = []string{"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", ExternalIDField}

var objects = map[string]object{
	"Account": {fields: []string{"Name", "Type", "ParentId", "Industry", "BillingStreet", "BillingCity",
		"BillingState", "BillingPostalCode", "BillingCountry", "Phone", "Website", "AccountNumber", "OwnerId",
		// Links to the same customer in the other systems (shipped mappings use them).
		"QuickBooks_Customer_Id__c", "Square_Customer_Id__c"}},
	"Contact": {writable: true, fields: []string{"AccountId", "FirstName", "LastName", "Name", "Email", "Phone",
		"Title", "MailingCity", "OwnerId"}},
	"Case": {writable: true, fields: []string{"CaseNumber", "Subject", "Description", "Status", "IsClosed",
		"ClosedDate", "Priority", "Origin", "Type", "AccountId", "ContactId", "OwnerId", ExternalIDField}},
	"CaseComment":    {writable: true, fields: []string{"ParentId", "CommentBody", "IsPublished", "CreatedById"}},
	"Knowledge__kav": {fields: []string{"Title", "Summary", "UrlName", "ArticleBody__c", "PublishStatus", "Language", "VersionNumber", "KnowledgeArticleId", "IsLatestVersion"}},
	"ContentVersion": {writable: true, fields: []string{"Title", "PathOnClient", "FileType", "ContentSize",
		"FirstPublishLocationId", "ContentDocumentId", "VersionNumber", "IsLatest"}},
	// CurrencyIsoCode exists in multi-currency orgs only (multiCurrencyFields).
	"Quote": {writable: true, fields: []string{"Name", "QuoteNumber", "Status", "AccountId", "ContactId",
		"CurrencyIsoCode", "Subtotal", "Discount", "GrandTotal", "TotalPrice", "ExpirationDate"}},
	"QuoteLineItem": {fields: []string{"QuoteId", "LineNumber", "Product2Id", "Description", "Quantity", "UnitPrice",
		"ListPrice", "Subtotal", "Discount", "TotalPrice", "CurrencyIsoCode", "SortOrder"}},
}

// objectOrder is the order Objects reports them in.
var objectOrder = []string{"Account", "Contact", "Case", "CaseComment", "Knowledge__kav", "ContentVersion", "Quote", "QuoteLineItem"}

// Objects implements connectors.Connector.
func (c *Connector) Objects(context.Context) ([]connectors.ObjectInfo, error) {
	out := make([]connectors.ObjectInfo, 0, len(objectOrder))
	for _, name := range objectOrder {
		out = append(out, connectors.ObjectInfo{
			Name: name, Key: "Id", CursorField: "SystemModstamp", Deletes: true, Writable: objects[name].writable,
			Webhooks: true, // outbound messages, where the org configures them
		})
	}
	return out, nil
}

// multiCurrencyFields exist only in orgs with multiple currencies: in any
// other, a query naming one fails with INVALID_FIELD, and the connector
// leaves them out of that object's queries from then on (singleCurrency).
var multiCurrencyFields = []string{"CurrencyIsoCode"}

func (c *Connector) selectFields(name string) ([]string, error) {
	o, ok := objects[name]
	if !ok {
		return nil, &connectors.InvalidError{Field: "object", Msg: "unknown Salesforce object " + name, Code: "INVALID_TYPE"}
	}
	fields := o.fields
	if f, ok := c.opts.Fields[name]; ok {
		fields = f
	}
	c.mu.Lock()
	single := c.singleCurrency[name]
	c.mu.Unlock()
	out := append([]string(nil), systemFields...)
	for _, f := range fields {
		if !contains(out, f) && !(single && contains(multiCurrencyFields, f)) {
			out = append(out, f)
		}
	}
	return out, nil
}

// noMultiCurrency reports whether err is the org refusing a multi-currency
// field of object that the query named, and if so remembers to leave
// those fields out.
func (c *Connector) noMultiCurrency(object string, fields []string, err error) bool {
	var ie *connectors.InvalidError
	if !errors.As(err, &ie) || ie.Code != "INVALID_FIELD" {
		return false
	}
	for _, f := range multiCurrencyFields {
		if contains(fields, f) && strings.Contains(ie.Msg, "'"+f+"'") {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.singleCurrency == nil {
				c.singleCurrency = map[string]bool{}
			}
			c.singleCurrency[object] = true
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
