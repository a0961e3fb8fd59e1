package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// Type is a portal field type.
type Type string

// Portal field types. Values travel as JSON: dates and times as strings
// (RFC 3339, UTC), binary as base64.
const (
	TypeID       Type = "id"
	TypeString   Type = "string"
	TypeText     Type = "text"
	TypeEmail    Type = "email"
	TypeEnum     Type = "enum"
	TypeInt      Type = "int"
	TypeNumber   Type = "number"
	TypeBool     Type = "bool"
	TypeDate     Type = "date"
	TypeDateTime Type = "datetime"
	TypeBinary   Type = "binary"
	TypeList     Type = "list"
)

var knownTypes = []Type{TypeID, TypeString, TypeText, TypeEmail, TypeEnum, TypeInt, TypeNumber, TypeBool, TypeDate, TypeDateTime, TypeBinary, TypeList}

func (t Type) known() bool {
	for _, k := range knownTypes {
		if k == t {
			return true
		}
	}
	return false
}

func (t Type) stringy() bool {
	switch t {
	case TypeID, TypeString, TypeText, TypeEmail, TypeEnum, TypeBinary:
		return true
	}
	return false
}

// Customer roles within an account, and the staff role.
const (
	RoleAccountAdmin  = "account_admin"
	RoleMember        = "member"
	RoleBilling       = "billing"
	RolePurchasing    = "purchasing"
	RoleOperatorAdmin = "operator_admin"
)

// Roles lists every role a mapping may name.
func Roles() []string {
	return []string{RoleAccountAdmin, RoleMember, RoleBilling, RolePurchasing, RoleOperatorAdmin}
}

// seesAll reports roles that see every field of every object they can
// reach: the account's admin and the operator's staff.
func seesAll(role string) bool { return role == RoleAccountAdmin || role == RoleOperatorAdmin }

// FieldDef is one field of a canonical portal object.
type FieldDef struct {
	Name     string
	Type     Type
	Of       string // element object of a list field
	Required bool   // every mapping must fill it
	Doc      string
}

// ObjectDef is a canonical portal object. API and UI work against these,
// never against vendor fields.
type ObjectDef struct {
	Name string
	Doc  string
	// Owned objects belong to an account; their mapping must say how
	// (the owner relation). Public ones (articles, products) do not.
	Owned bool
	// Embedded objects exist only inside a parent's list field.
	Embedded bool
	// RefKeys are account fields other systems' records point at; an
	// owner relation may resolve through one of them.
	RefKeys []string
	Fields  []FieldDef
}

// Field returns the named field.
func (d *ObjectDef) Field(name string) (FieldDef, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldDef{}, false
}

// HasStatus reports objects whose status needs a customer-facing label and
// next step for every value.
func (d *ObjectDef) HasStatus() bool {
	f, ok := d.Field("status")
	return ok && f.Type == TypeEnum && !d.Embedded
}

func f(name string, t Type, doc string) FieldDef { return FieldDef{Name: name, Type: t, Doc: doc} }
func req(name string, t Type, doc string) FieldDef {
	return FieldDef{Name: name, Type: t, Required: true, Doc: doc}
}
func list(name, of, doc string) FieldDef {
	return FieldDef{Name: name, Type: TypeList, Of: of, Doc: doc}
}

// Model returns the canonical portal objects, sorted by name. It is a fresh
// copy each call.
func Model() []ObjectDef {
	objs := []ObjectDef{
		{Name: "account", Doc: "A customer company. The portal account is the CRM account.", Owned: true,
			RefKeys: []string{"accounting_customer_id", "inventory_customer_id"},
			Fields: []FieldDef{
				req("id", TypeID, "CRM account id"),
				req("name", TypeString, "company name"),
				f("parent_account_id", TypeID, "parent account, for account hierarchies"),
				f("industry", TypeString, "industry"),
				f("city", TypeString, "billing city"),
				f("phone", TypeString, "main phone"),
				f("accounting_customer_id", TypeID, "the account's customer id in the accounting system"),
				f("inventory_customer_id", TypeID, "the account's customer id in the inventory system"),
			}},
		{Name: "contact", Doc: "A person at a customer account; portal users are contacts.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "contact id"),
				req("account_id", TypeID, "the contact's account"),
				f("first_name", TypeString, "first name"),
				req("last_name", TypeString, "last name"),
				f("email", TypeEmail, "email address"),
				f("phone", TypeString, "phone"),
				f("title", TypeString, "job title"),
			}},
		{Name: "case", Doc: "A support request.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "case id"),
				req("number", TypeString, "case number shown to the customer"),
				req("subject", TypeString, "one-line summary"),
				f("description", TypeText, "what the customer asked"),
				req("status", TypeEnum, "where the case stands"),
				f("priority", TypeEnum, "urgency"),
				f("type", TypeString, "kind of request"),
				f("origin", TypeString, "channel the case came in through"),
				f("account_id", TypeID, "owning account"),
				f("account_name", TypeString, "owning account's name"),
				f("contact_id", TypeID, "contact who raised it"),
				f("contact_name", TypeString, "contact's name"),
				f("created_at", TypeDateTime, "opened"),
				f("updated_at", TypeDateTime, "last changed"),
				f("closed_at", TypeDateTime, "closed"),
			}},
		{Name: "case_comment", Doc: "A comment on a case.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "comment id"),
				req("case_id", TypeID, "the case commented on"),
				req("body", TypeText, "comment text"),
				f("published", TypeBool, "visible to the customer"),
				f("author_id", TypeID, "who wrote it"),
				f("created_at", TypeDateTime, "written"),
			}},
		{Name: "knowledge_article", Doc: "A published help article. Public to every portal user.",
			Fields: []FieldDef{
				req("id", TypeID, "article id"),
				req("title", TypeString, "title"),
				f("summary", TypeText, "summary"),
				f("url_name", TypeString, "URL slug"),
				f("body", TypeText, "article body (HTML)"),
				f("published", TypeBool, "the article is published"),
			}},
		{Name: "order", Doc: "A customer order with its lines and shipments.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "order id"),
				f("reference", TypeString, "the customer's own reference (PO number)"),
				req("status", TypeEnum, "where the order stands"),
				f("total", TypeNumber, "order total"),
				f("currency", TypeString, "ISO 4217 currency"),
				f("location_id", TypeID, "selling location"),
				f("created_at", TypeDateTime, "placed"),
				f("updated_at", TypeDateTime, "last changed"),
				list("lines", "order_line", "ordered items"),
				list("shipments", "shipment", "shipments"),
			}},
		{Name: "order_line", Doc: "One line of an order.", Embedded: true,
			Fields: []FieldDef{
				f("id", TypeID, "line id"),
				req("name", TypeString, "item name"),
				f("quantity", TypeNumber, "quantity"),
				f("unit_price", TypeNumber, "price per unit"),
				f("currency", TypeString, "ISO 4217 currency"),
				f("product_id", TypeID, "catalog product"),
			}},
		{Name: "shipment", Doc: "A shipment of (part of) an order.", Embedded: true,
			Fields: []FieldDef{
				f("id", TypeID, "shipment id"),
				f("status", TypeEnum, "shipment state"),
				f("carrier", TypeString, "carrier"),
				f("tracking_number", TypeString, "tracking number"),
				f("shipped_at", TypeDateTime, "handed to the carrier"),
				f("recipient", TypeString, "recipient name"),
			}},
		{Name: "invoice", Doc: "An invoice; payments are separate objects.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "invoice id"),
				req("number", TypeString, "invoice number"),
				req("status", TypeEnum, "open, paid, overdue"),
				f("issued_on", TypeDate, "invoice date"),
				f("due_on", TypeDate, "due date"),
				req("total", TypeNumber, "total amount"),
				f("balance", TypeNumber, "amount still owed"),
				f("currency", TypeString, "ISO 4217 currency"),
				list("lines", "invoice_line", "invoice lines"),
			}},
		{Name: "invoice_line", Doc: "One line of an invoice.", Embedded: true,
			Fields: []FieldDef{
				f("description", TypeText, "description"),
				req("amount", TypeNumber, "line amount"),
				f("quantity", TypeNumber, "quantity"),
				f("unit_price", TypeNumber, "price per unit"),
				f("product_id", TypeID, "item"),
			}},
		{Name: "payment", Doc: "A payment received from the customer.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "payment id"),
				req("amount", TypeNumber, "amount received"),
				f("paid_on", TypeDate, "payment date"),
				f("currency", TypeString, "ISO 4217 currency"),
				list("invoice_ids", "", "invoices this payment settles"),
			}},
		{Name: "product", Doc: "A product the customer can order. Public.",
			Fields: []FieldDef{
				req("id", TypeID, "product id"),
				req("name", TypeString, "name"),
				f("sku", TypeString, "stock keeping unit"),
				f("description", TypeText, "description"),
				f("price", TypeNumber, "unit price"),
				f("currency", TypeString, "ISO 4217 currency"),
				f("item_id", TypeID, "the product family (catalog item)"),
			}},
		{Name: "stock_level", Doc: "How many of a product are in stock at a location. Public.",
			Fields: []FieldDef{
				req("id", TypeID, "product and location"),
				req("product_id", TypeID, "product"),
				f("location_id", TypeID, "location"),
				req("quantity", TypeNumber, "quantity in stock"),
				f("updated_at", TypeDateTime, "counted"),
			}},
		{Name: "document", Doc: "A file the customer may download, or uploaded.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "document id"),
				req("title", TypeString, "title"),
				f("file_name", TypeString, "file name"),
				f("content_type", TypeString, "file type"),
				f("size", TypeInt, "size in bytes"),
				f("related_id", TypeID, "the record it belongs to"),
				f("content", TypeBinary, "file content (base64), for uploads"),
			}},
		{Name: "approval_request", Doc: "A quote or contract waiting for the customer to accept.", Owned: true,
			Fields: []FieldDef{
				req("id", TypeID, "request id"),
				req("name", TypeString, "what is to be approved"),
				f("kind", TypeString, "quote or contract"),
				req("status", TypeEnum, "pending, accepted, rejected, ..."),
				f("total", TypeNumber, "amount"),
				f("expires_on", TypeDate, "valid until"),
				f("account_id", TypeID, "account"),
				f("contact_id", TypeID, "addressed to"),
			}},
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs
}

// ModelMarkdown renders the model as the tables in mappings/README.md.
func ModelMarkdown() string {
	var b strings.Builder
	for _, o := range Model() {
		kind := "owned by an account"
		switch {
		case o.Embedded:
			kind = "embedded in its parent"
		case !o.Owned:
			kind = "public"
		}
		fmt.Fprintf(&b, "### %s\n\n%s (%s)\n\n| field | type | required | meaning |\n|---|---|---|---|\n", o.Name, o.Doc, kind)
		for _, fd := range o.Fields {
			t := string(fd.Type)
			if fd.Type == TypeList {
				t = "list of " + fd.Of
				if fd.Of == "" {
					t = "list of id"
				}
			}
			r := ""
			if fd.Required {
				r = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", fd.Name, t, r, fd.Doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}
