package auth

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionCodec stores a session as small JSON instead of scs's default gob.
// A gob decoder compiles its type information on every session load, which
// cost more than the rest of authenticating a request; the session holds
// only int64 and string values (the keys in session.go), so JSON with the
// two kinds kept apart round-trips them exactly. Sessions written by the
// gob codec are still read.
type sessionCodec struct{}

type encodedSession struct {
	Deadline time.Time         `json:"deadline"`
	Ints     map[string]int64  `json:"ints,omitempty"`
	Strings  map[string]string `json:"strings,omitempty"`
}

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	e := encodedSession{Deadline: deadline}
	for k, v := range values {
		switch x := v.(type) {
		case int64:
			if e.Ints == nil {
				e.Ints = map[string]int64{}
			}
			e.Ints[k] = x
		case string:
			if e.Strings == nil {
				e.Strings = map[string]string{}
			}
			e.Strings[k] = x
		default:
			return nil, fmt.Errorf("auth: session value %q is a %T; sessions hold int64 and string values", k, v)
		}
	}
	return json.Marshal(e)
}

func (sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != '{' {
		return scs.GobCodec{}.Decode(b)
	}
	var e encodedSession
	if err := json.Unmarshal(b, &e); err != nil {
		return time.Time{}, nil, fmt.Errorf("auth: stored session: %w", err)
	}
	values := make(map[string]any, len(e.Ints)+len(e.Strings))
	for k, v := range e.Ints {
		values[k] = v
	}
	for k, v := range e.Strings {
		values[k] = v
	}
	return e.Deadline, values, nil
}
