package salesforce

import (
	"context"

	"github.com/porticohq/portico/connectors"
)

// Describe implements connectors.Describer with the org's own describe of
// object (GET sobjects/{object}/describe), custom fields included. Any
// sObject may be described, not only those the connector syncs: a
// relationship path (Account.Name, Owner.Email) is checked against the
// related object's describe.
func (c *Connector) Describe(ctx context.Context, object string) (*connectors.ObjectSchema, error) {
	if !fieldName.MatchString(object) {
		return nil, &connectors.InvalidError{Field: "object", Msg: "not a Salesforce object name: " + object, Code: "INVALID_TYPE"}
	}
	d, err := c.describe(ctx, object, false)
	if err != nil {
		return nil, err
	}
	return d.schema(object), nil
}

// schema converts a describe to the connector-neutral schema.
func (d *describeResult) schema(object string) *connectors.ObjectSchema {
	name := d.Name
	if name == "" {
		name = object
	}
	out := &connectors.ObjectSchema{Name: name, Label: d.Label, From: "describe", Fields: make([]connectors.FieldSchema, 0, len(d.Fields))}
	for _, f := range d.Fields {
		fs := connectors.FieldSchema{
			Name: f.Name, Label: f.Label, Type: f.Type, Kind: sfKind(f.Type),
			Createable: f.Createable, Updateable: f.Updateable,
			// What Salesforce itself requires of a create: a field that
			// cannot be null and that the org does not default.
			Required:     f.Createable && !f.Nillable && !f.DefaultedOnCreate && f.Type != "boolean",
			Restricted:   f.RestrictedPicklist,
			ReferenceTo:  f.ReferenceTo,
			Relationship: f.RelationshipName,
			Length:       f.Length,
		}
		for _, p := range f.PicklistValues {
			if p.Active {
				fs.Picklist = append(fs.Picklist, p.Value)
			}
		}
		out.Fields = append(out.Fields, fs)
	}
	return out
}

// sfKind is the JSON kind of a Salesforce field type.
func sfKind(typ string) connectors.FieldKind {
	switch typ {
	case "id", "reference":
		return connectors.KindID
	case "boolean":
		return connectors.KindBool
	case "int", "long":
		return connectors.KindInt
	case "double", "currency", "percent":
		return connectors.KindNumber
	case "date":
		return connectors.KindDate
	case "datetime":
		return connectors.KindDateTime
	case "textarea":
		return connectors.KindText
	case "base64":
		return connectors.KindBinary
	case "address", "location", "complexvalue":
		return connectors.KindObject
	}
	// string, picklist, multipicklist, combobox, email, phone, url,
	// encryptedstring, time
	return connectors.KindString
}
