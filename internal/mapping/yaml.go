package mapping

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// dec walks a YAML node tree, recording every problem with its position.
type dec struct {
	file string
	errs *Errors
}

func (d *dec) errf(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	*d.errs = append(*d.errs, Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (d *dec) errAt(line, col int, format string, args ...any) {
	*d.errs = append(*d.errs, Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

type kv struct{ k, v *yaml.Node }

// pairs returns a mapping's members, reporting keys outside allowed
// (nil allows any) and duplicates.
func (d *dec) pairs(n *yaml.Node, what string, allowed ...string) []kv {
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s must be a mapping", what)
		return nil
	}
	var out []kv
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errf(k, "%s: keys must be plain names", what)
			continue
		}
		if seen[k.Value] {
			d.errf(k, "%s: %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !contains(allowed, k.Value) {
			d.errf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, kv{k, v})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *dec) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errf(n, "%s must be a text value", what)
		return "", false
	}
	return n.Value, true
}

func (d *dec) strs(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, what)
		if !ok {
			return nil
		}
		return []string{s}
	}
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "%s must be a value or a list", what)
		return nil
	}
	var out []string
	for _, e := range n.Content {
		if s, ok := d.str(e, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *dec) boolean(n *yaml.Node, what string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.errf(n, "%s must be true or false", what)
	}
	return b
}

func (d *dec) integer(n *yaml.Node, what string) int {
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.Atoi(n.Value); err == nil && v >= 0 {
			return v
		}
	}
	d.errf(n, "%s must be a whole number >= 0", what)
	return 0
}

func (d *dec) float(n *yaml.Node, what string) *float64 {
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return &v
		}
	}
	d.errf(n, "%s must be a number", what)
	return nil
}

// scalar decodes a scalar's natural value (string, int64, float64, bool).
func (d *dec) scalar(n *yaml.Node, what string) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errf(n, "%s must be a single value", what)
		return nil, false
	}
	switch n.Tag {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return v, true
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v, true
		}
	}
	return n.Value, true
}

var pathRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

func (d *dec) path(n *yaml.Node, what string) []string {
	s, ok := d.str(n, what)
	if !ok {
		return nil
	}
	if !pathRE.MatchString(s) {
		d.errf(n, "%s %q is not a source path (names joined by dots, e.g. Account.Name)", what, s)
		return nil
	}
	return strings.Split(s, ".")
}

// celPos places an expression's error inside the file: on the value's line
// after its opening quote, or on the lines under a block scalar.
func celPos(key, val *yaml.Node, is celIssue) (int, int) {
	switch val.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return val.Line + is.line, key.Column + 2 + is.col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return val.Line + is.line - 1, val.Column + 1 + is.col
	}
	return val.Line + is.line - 1, val.Column + is.col
}

// checkNoAliases rejects anchors and aliases: a mapping is read by people,
// and alias expansion is an easy way to blow up a parser.
func (d *dec) checkNoAliases(n *yaml.Node, budget *int) {
	*budget--
	if *budget < 0 {
		return
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.errf(n, "anchors and aliases are not supported in mapping files")
		return
	}
	for _, c := range n.Content {
		d.checkNoAliases(c, budget)
	}
}

// fpath compiles a field's source path and notes where it is written. It
// reports whether the path is good.
func (c *compiler) fpath(f *field, n *yaml.Node, what string) bool {
	f.path = c.path(n, what)
	f.at = Pos{c.file, n.Line, n.Column}
	return f.path != nil
}
