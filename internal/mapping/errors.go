package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a mapping file, at a 1-based line and column.
type Error struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"message"`
}

func (e Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found while loading a set of mapping files,
// sorted by file and position. Load returns all of them at once so an
// integrator fixes a file in one pass.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// FieldError is one rejected input field, named by its portal path so the
// API can answer 422 pointing at it.
type FieldError struct {
	Path    string `json:"path"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Input validation codes.
const (
	CodeRequired  = "required"
	CodeUnknown   = "unknown_field"
	CodeReadOnly  = "read_only"
	CodeType      = "type"
	CodeMaxLength = "max_length"
	CodeMinLength = "min_length"
	CodePattern   = "pattern"
	CodeAllowed   = "allowed"
	CodeRange     = "range"
	CodeEmpty     = "empty"
)

// ValidationError rejects portal input; nothing was converted.
type ValidationError struct {
	Object string       `json:"object"`
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Message
	}
	return "mapping: invalid " + e.Object + " input: " + strings.Join(parts, "; ")
}
