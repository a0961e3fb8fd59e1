package fakesource

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// omap is a JSON object that keeps its key order, so records read like Salesforce's.
type omap []kv

type kv struct {
	k string
	v any
}

func (m omap) MarshalJSON() ([]byte, error) { return appendJSON(nil, m) }

func (m omap) toMap() map[string]any {
	out := make(map[string]any, len(m))
	for _, e := range m {
		if sub, ok := e.v.(omap); ok {
			out[e.k] = sub.toMap()
		} else {
			out[e.k] = e.v
		}
	}
	return out
}

// sfObject is the schema of one simulated sObject.
type sfObject struct {
	fields    []string            // canonical names, in display order (system fields added around them)
	readOnly  []string            // besides the system fields
	picklists map[string][]string // restricted picklists
	lookups   map[string]sfLookup // field -> target
	extIDs    []string            // external-id fields usable for upsert
	types     map[string]string   // custom fields' types other than string
}

type sfLookup struct {
	rel    string // relationship name, e.g. Account for AccountId
	target string // object name, "User" for synthesized users
	// also lists further objects a polymorphic lookup may point at
	// (ContentVersion.FirstPublishLocationId: a case, an account or a quote).
	also []string
}

// sfCurrencies are the simulated org's active currencies.
var sfCurrencies = []string{"USD", "EUR", "GBP"}

var sfSystemFields = []string{"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}

// sfSchema is the sObjects of one simulated org.
type sfSchema map[string]*sfObject

// sfSchemas is the default org: every field the shipped mappings name,
// Portico's own custom fields included.
var sfSchemas = sfSchema{
	"Account": {
		fields:  []string{"Name", "Type", "ParentId", "Industry", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry", "Phone", "Website", "AccountNumber", "OwnerId", "QuickBooks_Customer_Id__c", "Square_Customer_Id__c", "Portico_Action_Id__c"},
		lookups: map[string]sfLookup{"ParentId": {rel: "Parent", target: "Account"}, "OwnerId": {rel: "Owner", target: "User"}},
		extIDs:  []string{"Portico_Action_Id__c", "QuickBooks_Customer_Id__c", "Square_Customer_Id__c"},
	},
	"Contact": {
		fields:   []string{"AccountId", "FirstName", "LastName", "Name", "Email", "Phone", "Title", "MailingCity", "OwnerId", "Portico_Action_Id__c"},
		readOnly: []string{"Name"},
		lookups:  map[string]sfLookup{"AccountId": {rel: "Account", target: "Account"}, "OwnerId": {rel: "Owner", target: "User"}},
		extIDs:   []string{"Portico_Action_Id__c"},
	},
	"Case": {
		fields:   []string{"CaseNumber", "Subject", "Description", "Status", "IsClosed", "ClosedDate", "Priority", "Origin", "Type", "AccountId", "ContactId", "OwnerId", "Portico_Action_Id__c"},
		readOnly: []string{"CaseNumber", "IsClosed", "ClosedDate"},
		picklists: map[string][]string{
			"Status":   {"New", "Working", "Escalated", "Waiting on Customer", "Closed"},
			"Priority": {"Low", "Medium", "High"},
			"Origin":   {"Web", "Email", "Phone", "Portal"},
			"Type":     {"Question", "Problem", "Feature Request"},
		},
		lookups: map[string]sfLookup{"AccountId": {rel: "Account", target: "Account"}, "ContactId": {rel: "Contact", target: "Contact"}, "OwnerId": {rel: "Owner", target: "User"}},
		extIDs:  []string{"Portico_Action_Id__c"},
	},
	"CaseComment": {
		// Deviation: real orgs cannot add custom fields to CaseComment; the simulator accepts
		// Portico_Action_Id__c so comment writes can be idempotent by upsert.
		fields:  []string{"ParentId", "CommentBody", "IsPublished", "Portico_Action_Id__c"},
		lookups: map[string]sfLookup{"ParentId": {rel: "Parent", target: "Case"}},
		extIDs:  []string{"Portico_Action_Id__c"},
	},
	"Knowledge__kav": {
		fields:    []string{"Title", "Summary", "UrlName", "ArticleBody__c", "PublishStatus", "Language", "VersionNumber", "KnowledgeArticleId", "IsLatestVersion", "Portico_Action_Id__c"},
		readOnly:  []string{"VersionNumber", "KnowledgeArticleId", "IsLatestVersion"},
		picklists: map[string][]string{"PublishStatus": {"Draft", "Online", "Archived"}},
		extIDs:    []string{"Portico_Action_Id__c"},
	},
	"ContentVersion": {
		// VersionData takes the file as base64 on create; the simulator keeps only its size
		// and answers the field with the URL of the binary, as Salesforce does.
		// The multipart insert streams the file instead; Checksum is its MD5.
		fields:   []string{"Title", "PathOnClient", "FileType", "ContentSize", "VersionData", "FirstPublishLocationId", "ContentDocumentId", "VersionNumber", "IsLatest", "Checksum", "Portico_Action_Id__c"},
		readOnly: []string{"FileType", "ContentSize", "ContentDocumentId", "VersionNumber", "IsLatest", "Checksum"},
		lookups:  map[string]sfLookup{"FirstPublishLocationId": {rel: "FirstPublishLocation", target: "Case", also: []string{"Account", "Quote"}}},
		extIDs:   []string{"Portico_Action_Id__c"},
	},
	"Quote": {
		// CurrencyIsoCode exists in multi-currency orgs; the simulated org is one.
		fields:    []string{"Name", "QuoteNumber", "Status", "AccountId", "ContactId", "CurrencyIsoCode", "Subtotal", "Discount", "GrandTotal", "TotalPrice", "ExpirationDate", "Customer_Decision_Reason__c", "Portico_Action_Id__c"},
		readOnly:  []string{"QuoteNumber", "Subtotal", "GrandTotal", "TotalPrice"},
		picklists: map[string][]string{"Status": {"Draft", "Needs Review", "Presented", "Accepted", "Denied"}, "CurrencyIsoCode": sfCurrencies},
		lookups:   map[string]sfLookup{"AccountId": {rel: "Account", target: "Account"}, "ContactId": {rel: "Contact", target: "Contact"}},
		extIDs:    []string{"Portico_Action_Id__c"},
	},
	"QuoteLineItem": {
		// A line takes its quote's currency (read-only, as in Salesforce); Subtotal is
		// Quantity x UnitPrice and TotalPrice the Subtotal less the Discount percentage.
		// Product2Id names a product the simulator does not serve (no Product2 object):
		// Description carries the product's name.
		fields:   []string{"QuoteId", "LineNumber", "Product2Id", "Description", "Quantity", "UnitPrice", "ListPrice", "Subtotal", "Discount", "TotalPrice", "CurrencyIsoCode", "SortOrder", "Portico_Action_Id__c"},
		readOnly: []string{"LineNumber", "Subtotal", "TotalPrice", "CurrencyIsoCode"},
		lookups:  map[string]sfLookup{"QuoteId": {rel: "Quote", target: "Quote"}},
		extIDs:   []string{"Portico_Action_Id__c"},
	},
}

// sfCanon maps a case-insensitive field name to its canonical name.
func (sch sfSchema) canon(obj, field string) (string, bool) {
	sc := sch[obj]
	for _, f := range sfSystemFields {
		if strings.EqualFold(f, field) {
			return f, true
		}
	}
	for _, f := range sc.fields {
		if strings.EqualFold(f, field) {
			return f, true
		}
	}
	return "", false
}

func sfCanonObject(name string) (string, bool) {
	for k := range sfSchemas {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func noSuchColumn(field, obj string) string {
	return fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", field, obj)
}

// sfValidate checks a create/update body; it returns an error code, message and fields.
func (sch sfSchema) validate(o *objectState, fields map[string]any, create bool) (string, string, []string) {
	sc := sch[o.def.name]
	var bad []string
	for k, v := range fields {
		canon, ok := sch.canon(o.def.name, k)
		if !ok {
			return "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.def.name), []string{k}
		}
		if slices.Contains(sfSystemFields, canon) || slices.Contains(sc.readOnly, canon) {
			bad = append(bad, canon)
			continue
		}
		if msg := sch.typeError(o.def.name, canon, v); msg != "" {
			return "JSON_PARSER_ERROR", msg, []string{canon}
		}
		if allowed, ok := sc.picklists[canon]; ok && v != nil {
			sv, _ := v.(string)
			if !slices.Contains(allowed, sv) {
				return "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %v", canon, v), []string{canon}
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return "INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(bad, ", ")), bad
	}
	if create {
		var missing []string
		for _, req := range o.def.required {
			if v, ok := lookupFold(fields, req); !ok || v == nil || v == "" {
				missing = append(missing, req)
			}
		}
		if len(missing) > 0 {
			return "REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing
		}
	}
	return "", "", nil
}

func lookupFold(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// sfComplete canonicalizes field names and fills the defaults Salesforce would.
func (sch sfSchema) complete(o *objectState, in map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range sch[o.def.name].fields {
		out[f] = nil
	}
	for k, v := range in {
		if c, ok := sch.canon(o.def.name, k); ok {
			out[c] = v
		}
	}
	seq := o.nextSeq // the record about to be created
	switch o.def.name {
	case "Case":
		out["CaseNumber"] = fmt.Sprintf("%08d", 1001+seq)
		if out["Status"] == nil {
			out["Status"] = "New"
		}
		if out["Origin"] == nil {
			out["Origin"] = "Web"
		}
		if out["Priority"] == nil {
			out["Priority"] = "Medium"
		}
		out["IsClosed"] = out["Status"] == "Closed"
	case "Contact":
		out["Name"] = strings.TrimSpace(fmt.Sprint(nz(out["FirstName"])) + " " + fmt.Sprint(nz(out["LastName"])))
	case "CaseComment":
		if out["IsPublished"] == nil {
			out["IsPublished"] = false
		}
	case "ContentVersion":
		path, _ := out["PathOnClient"].(string)
		ext := strings.ToUpper(path[strings.LastIndexByte(path, '.')+1:])
		out["FileType"] = map[string]string{"DOCX": "WORD_X", "XLSX": "EXCEL_X"}[ext]
		if out["FileType"] == "" {
			out["FileType"] = ext
		}
		out["ContentSize"] = 0
		if data, ok := out["VersionData"].(string); ok {
			out["ContentSize"] = base64.StdEncoding.DecodedLen(len(data)) - strings.Count(data[max(0, len(data)-2):], "=")
		}
		out["VersionData"] = "/services/data/v59.0/sobjects/ContentVersion/" + o.def.idOf(seq) + "/VersionData"
		out["ContentDocumentId"] = sfID("069", seq)
		out["VersionNumber"] = "1"
		out["IsLatest"] = true
	case "Quote":
		out["QuoteNumber"] = fmt.Sprintf("%08d", seq+1)
		if out["Status"] == nil {
			out["Status"] = "Draft"
		}
		if out["CurrencyIsoCode"] == nil {
			out["CurrencyIsoCode"] = "USD"
		}
		for _, k := range []string{"Subtotal", "Discount", "GrandTotal", "TotalPrice"} {
			if out[k] == nil {
				out[k] = 0.0
			}
		}
	case "QuoteLineItem":
		// Deviation: Salesforce takes the quote's currency; the simulator does not look
		// the quote up on create and uses the org's default.
		out["LineNumber"] = fmt.Sprintf("%08d", seq+1)
		out["CurrencyIsoCode"] = "USD"
		qty, _ := out["Quantity"].(float64)
		unit, _ := out["UnitPrice"].(float64)
		disc, _ := out["Discount"].(float64)
		out["Subtotal"] = money(qty * unit)
		out["TotalPrice"] = money(qty * unit * (1 - disc/100))
	case "Knowledge__kav":
		out["VersionNumber"] = 1
		out["KnowledgeArticleId"] = sfID("kA0", seq)
		out["IsLatestVersion"] = true
		if out["PublishStatus"] == nil {
			out["PublishStatus"] = "Draft"
		}
	}
	return out
}

func nz(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// sfTypeError checks a JSON value against the field's type, as Salesforce's deserializer does.
func (sch sfSchema) typeError(obj, field string, v any) string {
	if v == nil {
		return ""
	}
	typ := sch.fieldType(obj, field)
	var ok bool
	switch typ {
	case "boolean":
		_, ok = v.(bool)
	case "currency", "double", "int", "percent":
		_, ok = v.(float64)
	case "date":
		sv, isStr := v.(string)
		_, err := time.Parse("2006-01-02", sv)
		ok = isStr && err == nil
	case "datetime":
		sv, isStr := v.(string)
		_, err := parseSFTime(sv)
		ok = isStr && err == nil
	default:
		_, ok = v.(string)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("Cannot deserialize instance of %s from %v value %v at [%s]", typ, fmt.Sprintf("%T", v), v, field)
}

// porticoFields are the custom fields a real org has only once an admin
// adds them: Portico's external id and the cross-references to the other
// systems.
var porticoFields = []string{"Portico_Action_Id__c", "QuickBooks_Customer_Id__c", "Square_Customer_Id__c"}

// sfCustomTypes are the types a simulated custom field may have.
var sfCustomTypes = []string{"string", "textarea", "double", "currency", "percent", "boolean", "date", "datetime"}

// newSFSchema is the default org changed by the options: without
// Portico's own custom fields, and with the extra custom fields given
// (of the types given, keyed Object.Field; text by default).
func newSFSchema(without bool, extra map[string][]string, types map[string]string) (sfSchema, error) {
	out := sfSchema{}
	for name, o := range sfSchemas {
		c := *o
		c.fields = slices.Clone(o.fields)
		c.extIDs = slices.Clone(o.extIDs)
		if without {
			c.fields = slices.DeleteFunc(c.fields, func(f string) bool { return slices.Contains(porticoFields, f) })
			c.extIDs = slices.DeleteFunc(c.extIDs, func(f string) bool { return slices.Contains(porticoFields, f) })
		}
		out[name] = &c
	}
	for obj, fields := range extra {
		o, ok := out[obj]
		if !ok {
			return nil, fmt.Errorf("%w: custom fields on unknown Salesforce object %q", ErrInvalid, obj)
		}
		for _, f := range fields {
			if !customField.MatchString(f) {
				return nil, fmt.Errorf("%w: %s.%s is not a custom field name (Name__c)", ErrInvalid, obj, f)
			}
			if _, dup := out.canon(obj, f); !dup {
				o.fields = append(o.fields, f)
			}
		}
	}
	for key, typ := range types {
		obj, f, _ := strings.Cut(key, ".")
		o, ok := out[obj]
		if !ok || !slices.Contains(extra[obj], f) {
			return nil, fmt.Errorf("%w: custom field type of %q, which is not in SalesforceCustomFields", ErrInvalid, key)
		}
		if !slices.Contains(sfCustomTypes, typ) {
			return nil, fmt.Errorf("%w: %s has type %q (known: %s)", ErrInvalid, key, typ, strings.Join(sfCustomTypes, ", "))
		}
		if o.types == nil {
			o.types = map[string]string{}
		}
		o.types[f] = typ
	}
	return out, nil
}

// customValue is a seeded value of a custom field of type typ, in the
// shape Salesforce answers it in (a date as 2006-01-02, a datetime as
// 2006-01-02T15:04:05.000+0000, numbers as JSON numbers).
func customValue(r *rnd, typ string, stamp time.Time) any {
	switch typ {
	case "boolean":
		return r.intn(2) == 0
	case "double":
		return float64(r.intn(1_000_000)) / 100
	case "currency":
		return float64(r.intn(10_000_000)) / 100
	case "percent":
		return float64(r.intn(10_000)) / 100
	case "date":
		return sfDate(stamp.Add(-time.Duration(r.intn(365*24)) * time.Hour))
	case "datetime":
		return sfTime(stamp.Add(-time.Duration(r.intn(365*24*60)) * time.Minute))
	case "textarea":
		return pick(r, commentTxt) + " " + pick(r, caseSubj) + "."
	}
	return fmt.Sprintf("%s %s-%04d", pick(r, industries), pick(r, cities).state, r.intn(10_000))
}

var customField = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*__c$`)
