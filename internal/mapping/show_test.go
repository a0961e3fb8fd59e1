package mapping_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
)

// Show must show exactly what VisibleFields shows, for every shipped
// object and every combination of roles, and never a stored key the
// mapping does not have.
func TestShowMatchesVisibleFields(t *testing.T) {
	t.Parallel()
	set := loadShipped(t)
	roles := []string{mapping.RoleMember, mapping.RoleBilling, mapping.RolePurchasing, mapping.RoleAccountAdmin}
	for _, obj := range set.Objects() {
		fields := map[string]any{"not_mapped": "secret", "quote\"d": `a "b" \ c`}
		for i, name := range obj.FieldNames() {
			switch i % 4 {
			case 0:
				fields[name] = "v \"" + name + "\" ünïcode \u2028"
			case 1:
				fields[name] = float64(i) + 0.5
			case 2:
				fields[name] = nil
			default:
				fields[name] = []any{map[string]any{"k": true}}
			}
		}
		stored, err := json.Marshal(mapping.Mapped{Object: obj.Name(), ID: "x", Status: "open", StatusLabel: "Open", NextStep: "Wait", Fields: fields})
		require.NoError(t, err)
		for mask := 0; mask < 1<<len(roles); mask++ {
			var held []string
			for i, r := range roles {
				if mask&(1<<i) != 0 {
					held = append(held, r)
				}
			}
			for _, held := range [][]string{held, {mapping.RoleOperatorAdmin}} {
				s := obj.Show(held, stored)
				var got map[string]any
				require.NoError(t, json.Unmarshal(s.Fields, &got), "%s %v: %s", obj.Name(), held, s.Fields)
				require.Equal(t, obj.VisibleFields(held, fields), got, "%s %v", obj.Name(), held)
				require.Equal(t, []string{"open", "Open", "Wait"}, []string{s.Status, s.StatusLabel, s.NextStep})
			}
		}
	}
}

func BenchmarkShow(b *testing.B) {
	set := loadShipped(b)
	obj, _ := set.Object("case")
	fields := map[string]any{}
	for _, name := range obj.FieldNames() {
		fields[name] = "value of " + name
	}
	stored, _ := json.Marshal(mapping.Mapped{Object: "case", ID: "x", Status: "open", Fields: fields})
	roles := []string{mapping.RoleMember}
	b.ReportAllocs()
	for b.Loop() {
		obj.Show(roles, stored)
	}
}
