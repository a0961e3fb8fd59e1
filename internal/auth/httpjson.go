package auth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/porticohq/portico/internal/jsonbody"
	"github.com/porticohq/portico/internal/reply"
)

// maxBody caps a request body; every auth request is a few small fields.
const maxBody = 16 << 10

// ValidationError is bad input, field by field. HTTP answers it with 422;
// the CLI maps paths to flags.
type ValidationError struct{ Fields []reply.Field }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Message
	}
	return "auth: invalid input: " + strings.Join(parts, "; ")
}

// add records a bad field.
func (e *ValidationError) add(path, format string, args ...any) {
	e.Fields = append(e.Fields, reply.Field{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns e, or nil when no field was bad.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

func invalid(path, format string, args ...any) *ValidationError {
	v := &ValidationError{}
	v.add(path, format, args...)
	return v
}

// decode reads a JSON object into dst (jsonbody.Read: 415, 413, 422
// naming the field, 400 for what is not JSON), as the API does. It
// answers the request and returns false on bad input.
func (s *Service) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if e := jsonbody.Read(w, r, maxBody, dst); e != nil {
		s.rp.Fail(w, r, e)
		return false
	}
	return true
}
