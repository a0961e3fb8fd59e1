package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
)

func record(t *testing.T, name string, edits map[string]any) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "records", name+".json"))
	require.NoError(t, err)
	if len(edits) == 0 {
		return raw
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for k, v := range edits {
		m[k] = v
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func sourceAt(m map[string]any, path string) any {
	var v any = m
	for _, seg := range strings.Split(path, ".") {
		mm, _ := v.(map[string]any)
		v = mm[seg]
	}
	return v
}

// Source -> portal -> source gives back the source values of every field
// the operation may write.
func TestRoundTripWriteFields(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	cases := []struct {
		conn, object, record string
		op                   mapping.Op
		edits                map[string]any
		fields               []string
	}{
		{"salesforce", "case", "salesforce_Case", mapping.OpCreate, nil, []string{"subject", "description", "priority", "type"}},
		{"salesforce", "case", "salesforce_Case", mapping.OpUpdate, map[string]any{"Status": "Closed"}, []string{"status"}},
		{"salesforce", "case_comment", "salesforce_CaseComment", mapping.OpCreate, nil, []string{"case_id", "body"}},
		{"salesforce", "contact", "salesforce_Contact", mapping.OpUpdate, nil, []string{"first_name", "last_name", "phone", "title"}},
		{"salesforce", "approval_request", "salesforce_Quote", mapping.OpUpdate, map[string]any{"Status": "Accepted"}, []string{"status"}},
		{"salesforce", "approval_request", "salesforce_Quote", mapping.OpUpdate, map[string]any{"Status": "Denied"}, []string{"status"}},
		{"inventory", "order", "inventory_order", mapping.OpUpdate, nil, []string{"reference"}},
	}
	for _, tc := range cases {
		t.Run(tc.object+"/"+string(tc.op), func(t *testing.T) {
			t.Parallel()
			o, ok := set.For(tc.conn, tc.object)
			require.True(t, ok)
			raw := record(t, tc.record, tc.edits)
			var src map[string]any
			require.NoError(t, json.Unmarshal(raw, &src))

			m, err := o.ToPortal(raw)
			require.NoError(t, err)
			require.Empty(t, m.Problems)
			input := map[string]any{}
			for _, f := range tc.fields {
				input[f] = m.Fields[f]
			}
			out, err := o.ToSource(tc.op, input, mapping.Actor{AccountID: "0013000000abcDEAAY", ContactID: "0033000000xyzABAA2"})
			require.NoError(t, err)
			for _, f := range tc.fields {
				path := o.SourcePath(f)
				require.Equal(t, sourceAt(src, path), sourceAt(out, path), "field %s (source %s)", f, path)
			}
		})
	}
}

func TestToSourceAddsConstantsAndActor(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	o, _ := set.For("salesforce", "case")
	out, err := o.ToSource(mapping.OpCreate, map[string]any{"subject": "Printer on fire"}, mapping.Actor{AccountID: "001A", ContactID: "003C"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"Subject": "Printer on fire", "Priority": "Medium", // the default, mapped back
		"Origin": "Web", "Status": "New", "AccountId": "001A", "ContactId": "003C",
	}, out)

	c, _ := set.For("salesforce", "case_comment")
	out, err = c.ToSource(mapping.OpCreate, map[string]any{"case_id": "5003000000D8cuIAAR", "body": "Photo attached."}, mapping.Actor{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"ParentId": "5003000000D8cuIAAR", "CommentBody": "Photo attached.", "IsPublished": true}, out)
}

func TestToSourceRejectsBadInputNamingEachField(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	o, _ := set.For("salesforce", "case")
	_, err := o.ToSource(mapping.OpCreate, map[string]any{
		"description": strings.Repeat("x", 32001),
		"priority":    "urgent",
		"number":      "42",
		"colour":      "red",
		"type":        7.0,
	}, mapping.Actor{})
	var ve *mapping.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, []mapping.FieldError{
		{Path: "colour", Code: mapping.CodeUnknown, Message: `case has no field "colour"`},
		{Path: "number", Code: mapping.CodeReadOnly, Message: "number cannot be set on create"},
		{Path: "subject", Code: mapping.CodeRequired, Message: "subject is required"},
		{Path: "description", Code: mapping.CodeMaxLength, Message: "description must be at most 32000 characters"},
		{Path: "priority", Code: mapping.CodeAllowed, Message: "priority must be one of [low medium high]"},
		{Path: "type", Code: mapping.CodeType, Message: "type must be text"},
	}, ve.Fields)

	// Customers may close a case, nothing else.
	_, err = o.ToSource(mapping.OpUpdate, map[string]any{"status": "in_progress"}, mapping.Actor{})
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "allowed", ve.Fields[0].Code)
	out, err := o.ToSource(mapping.OpUpdate, map[string]any{"status": "closed"}, mapping.Actor{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"Status": "Closed"}, out)

	ct, _ := set.For("salesforce", "contact")
	_, err = ct.ToSource(mapping.OpUpdate, map[string]any{"phone": "call me maybe", "last_name": nil}, mapping.Actor{})
	require.ErrorAs(t, err, &ve)
	require.Equal(t, []string{"last_name", "phone"}, []string{ve.Fields[0].Path, ve.Fields[1].Path})
	require.Equal(t, []string{mapping.CodeRequired, mapping.CodePattern}, []string{ve.Fields[0].Code, ve.Fields[1].Code})
}

func TestVisibleFieldsPerRole(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	acc, _ := set.For("salesforce", "account")
	data := map[string]any{"id": "001", "name": "Acme", "accounting_customer_id": "58", "inventory_customer_id": "SQ1"}
	require.Equal(t, map[string]any{"id": "001", "name": "Acme"}, acc.VisibleFields([]string{mapping.RoleMember}, data))
	require.Equal(t, data, acc.VisibleFields([]string{mapping.RoleAccountAdmin}, data))
	require.Equal(t, data, acc.VisibleFields([]string{mapping.RoleOperatorAdmin}, data))

	inv, _ := set.For("accounting", "invoice")
	require.False(t, inv.VisibleTo([]string{mapping.RoleMember}))
	require.Empty(t, inv.VisibleFields([]string{mapping.RoleMember}, map[string]any{"id": "1"}))
	require.Equal(t, map[string]any{"id": "1"}, inv.VisibleFields([]string{mapping.RoleMember, mapping.RoleBilling}, map[string]any{"id": "1"}))
}

func TestIncludeHidesDraftsAndInternalComments(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	q, _ := set.For("salesforce", "approval_request")
	m, err := q.ToPortal(record(t, "salesforce_Quote", map[string]any{"Status": "Draft"}))
	require.NoError(t, err)
	require.True(t, m.Hidden)
	require.Equal(t, "preparing", m.Status)
	m, err = q.ToPortal(record(t, "salesforce_Quote", nil))
	require.NoError(t, err)
	require.False(t, m.Hidden)

	c, _ := set.For("salesforce", "case_comment")
	m, err = c.ToPortal(record(t, "salesforce_CaseComment", map[string]any{"IsPublished": false}))
	require.NoError(t, err)
	require.True(t, m.Hidden)
}
