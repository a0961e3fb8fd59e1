package mapping

import (
	"encoding/json"
	"fmt"
)

// Stored is what the cache keeps of a record so it can be re-mapped
// without fetching it again.
type Stored struct {
	Connection   string
	SourceObject string
	Raw          json.RawMessage
	// Hash is the mapping hash the stored portal record was made with.
	Hash string
}

// Remap maps a stored record again if its mapping changed since. It
// returns nil and false when the stored record is current.
func (o *Object) Remap(raw json.RawMessage, mappedWith string) (*Mapped, bool, error) {
	if mappedWith == o.hash {
		return nil, false, nil
	}
	m, err := o.ToPortal(raw)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// Remap finds a stored record's mapping and re-maps it if it changed.
// A record whose source object no mapping covers any more is an error the
// caller reports; it is not deleted here.
func (s *Set) Remap(st Stored) (*Mapped, bool, error) {
	o, ok := s.BySource(st.Connection, st.SourceObject)
	if !ok {
		return nil, false, fmt.Errorf("mapping: no mapping for %s.%s", st.Connection, st.SourceObject)
	}
	return o.Remap(st.Raw, st.Hash)
}

// Stale lists the mappings whose hash differs from the one recorded for
// them, keyed by connection and source object; "apply" re-maps those.
func (s *Set) Stale(recorded map[[2]string]string) []*Object {
	var out []*Object
	for _, o := range s.objects {
		if recorded[[2]string{o.connection, o.source}] != o.hash {
			out = append(out, o)
		}
	}
	return out
}
