package salesforce

import (
	"context"
	"fmt"
	"strings"

	"github.com/porticohq/portico/connectors"
)

// CheckSetup implements connectors.SetupChecker. It reads each object's
// describe and reports the mapped fields the org lacks (reads leave them
// null) and, per writable object, how keyed creates are made idempotent:
// by the external-id field, or, when the org lacks it, by the marker
// strategy (createMarked), with the steps to add the field.
func (c *Connector) CheckSetup(ctx context.Context) ([]connectors.SetupNote, error) {
	var notes []connectors.SetupNote
	for _, name := range objectOrder {
		d, err := c.describe(ctx, name, false)
		if err != nil {
			return notes, fmt.Errorf("salesforce: describe %s: %w", name, err)
		}
		fields, _ := c.selectFields(name)
		lacks := c.Missing(name) // dropped from reads already
		for _, f := range fields {
			if !contains(syncFields, f) && !d.has(f) {
				lacks = append(lacks, f)
			}
		}
		if len(lacks) > 0 {
			notes = append(notes, connectors.SetupNote{Object: name, Level: connectors.SetupWarn, Msg: fmt.Sprintf(
				"the org lacks %s, which the mappings read: reads leave them empty (add the fields, or remove them from the mapping)",
				strings.Join(lacks, ", "))})
		}
		if !objects[name].writable {
			continue
		}
		notes = append(notes, c.createNote(name, d))
	}
	return notes, nil
}

// createNote says how keyed creates of object are made idempotent.
func (c *Connector) createNote(object string, d *describeResult) connectors.SetupNote {
	marker, hasMarker := c.markers[object]
	if hasMarker {
		if _, ok := d.field(marker); !ok {
			hasMarker = false
		}
	}
	switch f, ok := d.field(c.extID); {
	case c.extID != "" && ok && f.ExternalID:
		return connectors.SetupNote{Object: object, Level: connectors.SetupOK, Msg: "creates upsert by the external-id field " + c.extID}
	case c.extID != "" && ok:
		return connectors.SetupNote{Object: object, Level: connectors.SetupWarn, Msg: fmt.Sprintf("%s.%s exists but is not marked External ID: tick External ID (and Unique) on the field; until then %s",
			object, c.extID, fallback(object, marker, hasMarker))}
	case c.extID != "" && object == "CaseComment":
		return connectors.SetupNote{Object: object, Level: connectors.SetupWarn, Msg: "Salesforce allows no custom fields on CaseComment, so " + fallback(object, marker, hasMarker)}
	case c.extID != "":
		return connectors.SetupNote{Object: object, Level: connectors.SetupWarn, Msg: fmt.Sprintf("the org lacks the external-id field %s.%s that makes creates idempotent. To add it: Setup > Object Manager > %s > Fields & Relationships > New > Text (255), "+
			"Field Name %s, tick Unique and External ID, and give the integration user's profile edit access to it. Until then %s",
			object, c.extID, object, strings.TrimSuffix(c.extID, "__c"), fallback(object, marker, hasMarker))}
	}
	return connectors.SetupNote{Object: object, Level: connectors.SetupWarn, Msg: "settings.external_id_field is empty: " + fallback(object, marker, hasMarker)}
}

func fallback(object, marker string, ok bool) string {
	if !ok {
		return fmt.Sprintf("keyed creates of %s are refused, so that none is applied twice (no marker field in settings.marker_fields that the org has); this matters only if a mapping creates %s records", object, object)
	}
	return fmt.Sprintf("creates use the weaker marker strategy: the action's key is written into %s.%s as [portico:KEY] and a retried create looks for it among the records created in the last %d days first",
		object, marker, int(MarkerWindow.Hours()/24))
}
