package mapping

import (
	"encoding/json"
	"slices"

	"github.com/tidwall/gjson"
)

// Shown is what a user sees of a stored mapped record: its status, label
// and next step, and the fields the user's roles may see, as raw JSON.
type Shown struct {
	Status      string
	StatusLabel string
	NextStep    string
	Fields      json.RawMessage // a JSON object, never null
}

// Show reads a stored mapped record (the JSON of a Mapped, as the cache
// holds it) for a user holding roles. It is VisibleFields for readers that
// pass stored values through: the visible fields are copied as they are
// stored, in stored order, without decoding them. A role that cannot see
// the object sees no fields. stored must be valid JSON (the cache's jsonb
// column always is); it is not retained.
func (o *Object) Show(roles []string, stored []byte) Shown {
	var s Shown
	visible := o.VisibleTo(roles)
	all := slices.ContainsFunc(roles, seesAll)
	fields := make([]byte, 1, 64)
	fields[0] = '{'
	gjson.ParseBytes(stored).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "status":
			s.Status = v.String()
		case "status_label":
			s.StatusLabel = v.String()
		case "next_step":
			s.NextStep = v.String()
		case "fields":
			if !visible {
				return true
			}
			fields = slices.Grow(fields, len(v.Raw))
			v.ForEach(func(fk, fv gjson.Result) bool {
				f := o.fieldByName(fk.Str)
				if f == nil || !all && !slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(f.roles, r) }) {
					return true
				}
				if len(fields) > 1 {
					fields = append(fields, ',')
				}
				fields = append(fields, fk.Raw...)
				fields = append(fields, ':')
				fields = append(fields, fv.Raw...)
				return true
			})
		}
		return true
	})
	s.Fields = append(fields, '}')
	return s
}
