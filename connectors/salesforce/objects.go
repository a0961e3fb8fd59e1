package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// object is what the connector knows about one sObject.
type object struct {
	writable bool
	fields   []string // read when no mapping names the object's fields; besides syncFields
}

// syncFields are selected from every object: what the sync itself needs
// (the key, the version and the modification stamps).
var syncFields = []string{"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}

// objects are the sObjects the connector syncs. Their field lists are the
// defaults: when the loaded mappings name an object's fields
// (connectors.Connection.Fields), those are selected instead, so a custom
// field or a related record's field needs a mapping, not a change here.
var objects = map[string]object{
	"Account": {fields: []string{"Name", "Type", "ParentId", "Industry", "BillingStreet", "BillingCity",
		"BillingState", "BillingPostalCode", "BillingCountry", "Phone", "Website", "AccountNumber", "OwnerId",
		// Links to the same customer in the other systems (shipped mappings
		// use them); an org without them loses them in dropMissing.
		"QuickBooks_Customer_Id__c", "Square_Customer_Id__c"}},
	"Contact": {writable: true, fields: []string{"AccountId", "FirstName", "LastName", "Name", "Email", "Phone",
		"Title", "MailingCity", "OwnerId"}},
	"Case": {writable: true, fields: []string{"CaseNumber", "Subject", "Description", "Status", "IsClosed",
		"ClosedDate", "Priority", "Origin", "Type", "AccountId", "ContactId", "OwnerId"}},
	"CaseComment":    {writable: true, fields: []string{"ParentId", "CommentBody", "IsPublished", "CreatedById"}},
	"Knowledge__kav": {fields: []string{"Title", "Summary", "UrlName", "ArticleBody__c", "PublishStatus", "Language", "VersionNumber", "KnowledgeArticleId", "IsLatestVersion"}},
	"ContentVersion": {writable: true, fields: []string{"Title", "PathOnClient", "FileType", "ContentSize",
		"FirstPublishLocationId", "ContentDocumentId", "VersionNumber", "IsLatest"}},
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

// fieldName is a field or a relationship path ("Account.Name",
// "Owner.Email") as SOQL names them; nothing else reaches a query.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

// wholeRecord is what connectors.Connection.Fields lists when a transform
// reads the whole record.
const wholeRecord = "*"

// planSelects fixes each object's select list: syncFields, then the mapped
// paths (or the defaults), then Options.Fields' additions.
func planSelects(mapped map[string][]string, extra map[string][]string) (map[string][]string, error) {
	out := make(map[string][]string, len(objects))
	for name, o := range objects {
		list := slices.Clone(syncFields)
		add := func(fs []string) error {
			for _, f := range fs {
				if f == wholeRecord {
					for _, d := range o.fields {
						if !containsFold(list, d) {
							list = append(list, d)
						}
					}
					continue
				}
				if !fieldName.MatchString(f) {
					return fmt.Errorf("salesforce: %s: %q is not a Salesforce field or relationship path", name, f)
				}
				if !containsFold(list, f) {
					list = append(list, f)
				}
			}
			return nil
		}
		paths, ok := mapped[name]
		if !ok {
			paths = []string{wholeRecord}
		}
		if err := add(paths); err != nil {
			return nil, err
		}
		if err := add(extra[name]); err != nil {
			return nil, err
		}
		out[name] = list
	}
	return out, nil
}

// selectFields is what a read of object selects: the planned list, less
// the fields the org turned out to lack (dropMissing).
func (c *Connector) selectFields(name string) ([]string, error) {
	if _, ok := objects[name]; !ok {
		return nil, &connectors.InvalidError{Field: "object", Msg: "unknown Salesforce object " + name, Code: "INVALID_TYPE"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selects[name], nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// describeResult is the part of an sObject describe the connector reads.
type describeResult struct {
	Name   string          `json:"name"`
	Label  string          `json:"label"`
	Fields []describeField `json:"fields"`
}

type describeField struct {
	Name               string   `json:"name"`
	Label              string   `json:"label"`
	Type               string   `json:"type"`
	Length             int      `json:"length"`
	RelationshipName   string   `json:"relationshipName"`
	ReferenceTo        []string `json:"referenceTo"`
	ExternalID         bool     `json:"externalId"`
	Filterable         bool     `json:"filterable"`
	Createable         bool     `json:"createable"`
	Updateable         bool     `json:"updateable"`
	Nillable           bool     `json:"nillable"`
	DefaultedOnCreate  bool     `json:"defaultedOnCreate"`
	RestrictedPicklist bool     `json:"restrictedPicklist"`
	PicklistValues     []struct {
		Value  string `json:"value"`
		Active bool   `json:"active"`
	} `json:"picklistValues"`
}

// field finds a field by name, as Salesforce does: ignoring case.
func (d *describeResult) field(name string) (describeField, bool) {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return describeField{}, false
}

// has says whether the org knows a field or the relationship a path
// starts with.
func (d *describeResult) has(path string) bool {
	rel, _, dotted := strings.Cut(path, ".")
	if !dotted {
		_, ok := d.field(path)
		return ok
	}
	return slices.ContainsFunc(d.Fields, func(f describeField) bool { return strings.EqualFold(f.RelationshipName, rel) })
}

// describe reads (once per connector) the org's describe of object.
func (c *Connector) describe(ctx context.Context, object string, write bool) (*describeResult, error) {
	c.mu.Lock()
	d, ok := c.described[object]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/sobjects/" + object + "/describe", Write: write})
	if err != nil {
		return nil, err
	}
	d = &describeResult{}
	if err := json.Unmarshal(body, d); err != nil {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode describe of %s: %w", object, err))
	}
	c.mu.Lock()
	c.described[object] = d
	c.mu.Unlock()
	return d, nil
}

// dropMissing answers a query the org refused for a field it lacks
// (INVALID_FIELD): it reads the describe and drops from object's select
// list every field the org does not have, so pulls go on without them
// (their mapped values stay null) instead of failing every time. A
// mapping that names a field the org lacks is reported by
// `portico connectors check`. It reports whether it dropped anything.
func (c *Connector) dropMissing(ctx context.Context, object string, write bool) (bool, error) {
	d, err := c.describe(ctx, object, write)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept, dropped []string
	for _, f := range c.selects[object] {
		if contains(syncFields, f) || d.has(f) {
			kept = append(kept, f)
		} else {
			dropped = append(dropped, f)
		}
	}
	if len(dropped) == 0 {
		return false, nil
	}
	c.selects[object] = kept
	c.missing[object] = append(c.missing[object], dropped...)
	c.Log.WarnContext(ctx, "the org lacks mapped fields; reading the object without them", "object", object, "fields", strings.Join(dropped, ", "))
	return true, nil
}

// Missing lists the mapped fields of object the org turned out to lack
// (dropped from its reads), for `portico connectors check`.
func (c *Connector) Missing(object string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.missing[object])
}
