package fakesource

import (
	"net/http"
	"slices"
	"strings"
)

var sfPrefixes = map[string]string{"Account": "001", "Contact": "003", "Case": "500", "CaseComment": "00a", "Knowledge__kav": "ka0", "ContentVersion": "068", "Quote": "0Q0", "QuoteLineItem": "0QL"}

// sfFieldType guesses a field's Salesforce type from its name and schema.
func (sch sfSchema) fieldType(obj, f string) string {
	sc := sch[obj]
	if t := sc.types[f]; t != "" {
		return t
	}
	switch {
	case f == "Id":
		return "id"
	case sc.picklists[f] != nil:
		return "picklist"
	case f == "Discount" && obj == "QuoteLineItem":
		return "percent"
	case f == "Quantity":
		return "double"
	case f == "SortOrder":
		return "int"
	case sc.lookups[f].target != "" || f == "Product2Id" || f == "CreatedById" || f == "LastModifiedById" || f == "ContentDocumentId" || f == "KnowledgeArticleId":
		return "reference"
	case strings.HasPrefix(f, "Is"):
		return "boolean"
	case f == "ExpirationDate" || f == "ServiceDate":
		return "date"
	case strings.HasSuffix(f, "Date") || f == "SystemModstamp":
		return "datetime"
	case f == "VersionData":
		return "base64"
	case f == "Phone":
		return "phone"
	case f == "Email":
		return "email"
	case f == "Website":
		return "url"
	case f == "GrandTotal" || f == "Subtotal" || f == "Discount" || f == "TotalPrice" || f == "UnitPrice" || f == "ListPrice":
		return "currency"
	case f == "ContentSize" || (f == "VersionNumber" && obj == "Knowledge__kav"):
		return "int"
	case f == "Description" || f == "CommentBody" || f == "ArticleBody__c" || f == "Summary" || f == "Customer_Decision_Reason__c":
		return "textarea"
	}
	return "string"
}

func sfObjectInfo(obj, version string) omap {
	base := "/services/data/" + version + "/sobjects/" + obj
	label := strings.TrimSuffix(obj, "__kav")
	return omap{
		{"name", obj}, {"label", label}, {"labelPlural", label + "s"}, {"keyPrefix", sfPrefixes[obj]},
		{"custom", false}, {"createable", true}, {"updateable", true}, {"deletable", true}, {"queryable", true},
		{"replicateable", true}, {"retrieveable", true}, {"searchable", true}, {"layoutable", true}, {"triggerable", true},
		{"urls", omap{{"sobject", base}, {"describe", base + "/describe"}, {"rowTemplate", base + "/{ID}"}}},
	}
}

func (sch sfSchema) describe(obj, version string) omap {
	sc := sch[obj]
	var fields []any
	all := append(append([]string{}, sfSystemFields[:2]...), sc.fields...)
	all = append(all, sfSystemFields[2:]...)
	for _, f := range all {
		typ := sch.fieldType(obj, f)
		system := slices.Contains(sfSystemFields, f)
		writable := !system && !slices.Contains(sc.readOnly, f)
		ext := slices.Contains(sc.extIDs, f)
		var refTo []string
		var rel any
		if lk, ok := sc.lookups[f]; ok {
			refTo, rel = []string{lk.target}, lk.rel
		} else if f == "CreatedById" || f == "LastModifiedById" {
			refTo, rel = []string{"User"}, strings.TrimSuffix(f, "Id")
		}
		var picks []any
		for i, v := range sc.picklists[f] {
			picks = append(picks, omap{{"active", true}, {"defaultValue", i == 0}, {"label", v}, {"validFor", nil}, {"value", v}})
		}
		if picks == nil {
			picks = []any{}
		}
		if refTo == nil {
			refTo = []string{}
		}
		fields = append(fields, omap{
			{"name", f}, {"label", sfLabel(f)}, {"type", typ}, {"custom", strings.HasSuffix(f, "__c")},
			{"createable", writable}, {"updateable", writable}, {"nillable", !system && !slices.Contains(sfRequired(obj), f)},
			{"externalId", ext}, {"unique", ext || f == "Id"}, {"idLookup", ext || f == "Id"},
			{"referenceTo", refTo}, {"relationshipName", rel}, {"picklistValues", picks},
			{"restrictedPicklist", len(sc.picklists[f]) > 0}, {"filterable", true}, {"sortable", typ != "textarea"},
		})
	}
	out := sfObjectInfo(obj, version)
	return append(out, kv{"fields", fields}, kv{"childRelationships", []any{}}, kv{"recordTypeInfos", []any{}})
}

// sfRequired lists the fields a create must carry.
func sfRequired(obj string) []string {
	return sfRequiredFields[obj]
}

var sfRequiredFields = map[string][]string{
	"Account": {"Name"}, "Contact": {"LastName"}, "Case": {"Subject"}, "CaseComment": {"ParentId", "CommentBody"},
	"Knowledge__kav": {"Title", "UrlName"}, "ContentVersion": {"Title", "PathOnClient"}, "Quote": {"Name"},
	"QuoteLineItem": {"QuoteId", "Quantity", "UnitPrice"},
}

func (s *Sim) sfDescribeHandler(w http.ResponseWriter, r *http.Request, obj string, full bool) {
	v := r.PathValue("v")
	if obj == "" {
		var list []any
		for _, name := range objectNames[Salesforce] {
			list = append(list, sfObjectInfo(name, v))
		}
		writeJSON(w, http.StatusOK, omap{{"encoding", "UTF-8"}, {"maxBatchSize", 200}, {"sobjects", list}})
		return
	}
	canon, ok := sfCanonObject(obj)
	if !ok {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if full {
		writeJSON(w, http.StatusOK, s.sf.describe(canon, v))
		return
	}
	writeJSON(w, http.StatusOK, omap{{"objectDescribe", sfObjectInfo(canon, v)}, {"recentItems", []any{}}})
}

// sfLabel is a field's label as Salesforce derives the default one: words
// split at capitals, "Id" as "ID", a custom field without its __c
// (CaseNumber "Case Number", AccountId "Account ID", Region__c "Region").
func sfLabel(f string) string {
	f = strings.ReplaceAll(strings.TrimSuffix(f, "__c"), "_", " ")
	var b strings.Builder
	for i, r := range f {
		if i > 0 && r >= 'A' && r <= 'Z' && f[i-1] >= 'a' && f[i-1] <= 'z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if strings.HasSuffix(out, " Id") || out == "Id" {
		out = strings.TrimSuffix(out, "Id") + "ID"
	}
	return out
}
