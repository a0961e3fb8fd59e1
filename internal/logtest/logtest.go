// Package logtest records what code logs through log/slog, for tests that
// check log lines: their level, message and attributes. It must not be
// imported outside tests.
package logtest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Record is one logged line with its attributes flattened: keys of
// groups are dotted ("group.key"), attributes added by Logger.With come
// first, in the order a handler would write them.
type Record struct {
	Level   slog.Level
	Message string
	Attrs   []slog.Attr
}

// Keys lists the record's attribute keys in order.
func (r Record) Keys() []string {
	out := make([]string, len(r.Attrs))
	for i, a := range r.Attrs {
		out[i] = a.Key
	}
	return out
}

// Value returns the value of key, and whether the record has it.
func (r Record) Value(key string) (slog.Value, bool) {
	for _, a := range r.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return slog.Value{}, false
}

// DuplicateKeys lists the keys that appear more than once, as in
// "connection=crm connection=crm".
func (r Record) DuplicateKeys() []string {
	seen := map[string]int{}
	var dup []string
	for _, k := range r.Keys() {
		if seen[k]++; seen[k] == 2 {
			dup = append(dup, k)
		}
	}
	return dup
}

// Recorder is a slog.Handler that keeps every record, at every level.
type Recorder struct {
	sink   *sink
	attrs  []slog.Attr
	prefix string // open groups, dotted, with a trailing dot
}

type sink struct {
	mu      sync.Mutex
	records []Record
}

// New returns an empty recorder.
func New() *Recorder { return &Recorder{sink: &sink{}} }

// Logger returns a logger writing to the recorder.
func (r *Recorder) Logger() *slog.Logger { return slog.New(r) }

// Records returns a copy of what was logged so far.
func (r *Recorder) Records() []Record {
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	return slices.Clone(r.sink.records)
}

// Matching returns the records whose message contains substr.
func (r *Recorder) Matching(substr string) []Record {
	var out []Record
	for _, rec := range r.Records() {
		if strings.Contains(rec.Message, substr) {
			out = append(out, rec)
		}
	}
	return out
}

// Duplicates describes every record that repeats a key, one line each
// ("msg: key"); empty when none does.
func (r *Recorder) Duplicates() []string {
	var out []string
	for _, rec := range r.Records() {
		if d := rec.DuplicateKeys(); len(d) > 0 {
			out = append(out, fmt.Sprintf("%q repeats %s (keys %v)", rec.Message, strings.Join(d, ", "), rec.Keys()))
		}
	}
	return out
}

// Enabled implements slog.Handler: every level is recorded.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	out := Record{Level: rec.Level, Message: rec.Message, Attrs: slices.Clone(r.attrs)}
	rec.Attrs(func(a slog.Attr) bool {
		out.Attrs = flatten(out.Attrs, r.prefix, a)
		return true
	})
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	r.sink.records = append(r.sink.records, out)
	return nil
}

// WithAttrs implements slog.Handler.
func (r *Recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *r
	c.attrs = slices.Clone(r.attrs)
	for _, a := range attrs {
		c.attrs = flatten(c.attrs, r.prefix, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (r *Recorder) WithGroup(name string) slog.Handler {
	if name == "" {
		return r
	}
	c := *r
	c.prefix = r.prefix + name + "."
	return &c
}

func flatten(dst []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			dst = flatten(dst, p, g)
		}
		return dst
	}
	if a.Equal(slog.Attr{}) {
		return dst
	}
	return append(dst, slog.Attr{Key: prefix + a.Key, Value: v})
}
