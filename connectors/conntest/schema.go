package conntest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
)

// SchemaMismatches lists each member of a record (at any depth, through
// nested objects and lists) that the schema lacks, or whose JSON value
// does not fit the field's kind: what a connector's built-in schema must
// get right for `portico mappings check` to be trusted. skip names
// members to pass over (Salesforce's "attributes").
func SchemaMismatches(s *connectors.ObjectSchema, raw json.RawMessage, skip ...string) []string {
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var out []string
	walkSchema(s.Name, s.Fields, rec, skip, &out)
	sort.Strings(out)
	return out
}

func walkSchema(at string, fields []connectors.FieldSchema, rec map[string]any, skip []string, out *[]string) {
	for k, v := range rec {
		if contains(skip, k) {
			continue
		}
		var f *connectors.FieldSchema
		for i := range fields {
			if fields[i].Name == k {
				f = &fields[i]
				break
			}
		}
		path := at + "." + k
		if f == nil {
			*out = append(*out, fmt.Sprintf("%s: not in the schema", path))
			continue
		}
		if v == nil {
			continue
		}
		if msg := kindFits(f.Kind, v); msg != "" {
			*out = append(*out, fmt.Sprintf("%s: %s, but the schema says %s", path, msg, f.Kind))
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if len(f.Fields) > 0 {
				walkSchema(path, f.Fields, x, skip, out)
			}
		case []any:
			for _, el := range x {
				if m, ok := el.(map[string]any); ok && len(f.Fields) > 0 {
					walkSchema(path+"[]", f.Fields, m, skip, out)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kindFits says what is wrong with a JSON value for a field kind ("" if
// nothing).
func kindFits(k connectors.FieldKind, v any) string {
	switch x := v.(type) {
	case string:
		switch k {
		case connectors.KindString, connectors.KindText, connectors.KindID, connectors.KindBinary:
			return ""
		case connectors.KindDate:
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				return fmt.Sprintf("%q is not a date", x)
			}
			return ""
		case connectors.KindDateTime:
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Sprintf("%q is not an RFC 3339 time", x)
			}
			return ""
		case connectors.KindDecimal:
			var f float64
			if _, err := fmt.Sscan(x, &f); err != nil {
				return fmt.Sprintf("%q is not a decimal", x)
			}
			return ""
		}
		return "a string"
	case float64:
		switch k {
		case connectors.KindNumber:
			return ""
		case connectors.KindInt:
			if x != float64(int64(x)) {
				return fmt.Sprintf("%v is not whole", x)
			}
			return ""
		}
		return "a number"
	case bool:
		if k == connectors.KindBool {
			return ""
		}
		return "a boolean"
	case map[string]any:
		if k == connectors.KindObject {
			return ""
		}
		return "an object"
	case []any:
		if k == connectors.KindList {
			return ""
		}
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// Open starts the harness's source and returns a connector on it, for a
// connector's own tests beyond the suite (a schema against the records
// the source stores).
func Open(t *testing.T, h Harness) connectors.Connector {
	t.Helper()
	return setup(t, h, setupOpts{}).c
}

// CheckBuiltinSchemas checks a connector's built-in schemas against what
// the harness's source stores: every member of every record of every
// object (a page of up to 200) is in the object's schema with the kind
// its JSON has; and an object without a schema is refused as invalid.
func CheckBuiltinSchemas(t *testing.T, h Harness, unknown string) {
	t.Helper()
	c := Open(t, h)
	ctx := context.Background()
	objs, err := c.Objects(ctx)
	require.NoError(t, err)
	d, ok := c.(connectors.Describer)
	require.True(t, ok, "the connector describes its objects")
	for _, o := range objs {
		s, err := d.Describe(ctx, o.Name)
		require.NoError(t, err, o.Name)
		require.Contains(t, s.From, "no describe call")
		page, err := c.Pull(ctx, connectors.PullRequest{Object: o.Name, Limit: 200})
		require.NoError(t, err, o.Name)
		require.NotEmpty(t, page.Records, o.Name)
		for _, r := range page.Records {
			require.Empty(t, SchemaMismatches(s, r.Raw), "%s %s: %s", o.Name, r.ID, r.Raw)
		}
	}
	_, err = d.Describe(ctx, unknown)
	require.ErrorIs(t, err, connectors.ErrInvalid)
}
