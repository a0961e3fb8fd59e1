package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/porticohq/portico/internal/store"
)

// personalKeys are the parts of field names (vendor or portal, compared
// in lower case) whose values a contact record holds about the person:
// every such string value of the erased contact becomes the pseudonym.
var personalKeys = []string{"name", "email", "phone", "mobile", "fax", "street", "city", "postal", "zip",
	"address", "title", "birth", "salutation", "department", "assistant", "mailing", "description", "photo"}

func personalKey(k string) bool {
	k = strings.ToLower(k)
	for _, p := range personalKeys {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// scrubber replaces the person's identifiers in JSON values.
type scrubber struct {
	whole  map[string]bool // lower-case values replaced when a string equals one
	within []string        // replaced wherever a string contains one
	pseudo string
}

func newScrubber(s Subject, pseudo string) *scrubber {
	sc := &scrubber{whole: map[string]bool{}, pseudo: pseudo}
	// Not the first or last name alone: another person may share it.
	for _, v := range []string{s.FullName(), s.Email, s.Phone} {
		if v = strings.TrimSpace(v); len(v) >= 2 {
			sc.whole[strings.ToLower(v)] = true
		}
	}
	for _, v := range []string{s.Email, s.Phone, s.FullName()} {
		if v = strings.TrimSpace(v); len(v) >= 3 {
			sc.within = append(sc.within, v)
		}
	}
	return sc
}

// needles are what the cache is searched for.
func (sc *scrubber) needles() []string {
	out := make([]string, 0, len(sc.whole))
	for v := range sc.whole {
		out = append(out, v)
	}
	return out
}

func (sc *scrubber) text(v string) string {
	if sc.whole[strings.ToLower(strings.TrimSpace(v))] {
		return sc.pseudo
	}
	for _, w := range sc.within {
		v = replaceFold(v, w, sc.pseudo)
	}
	return v
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	lower, lold := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || !strings.Contains(lower, lold) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lold)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// walk rewrites the strings of v; all says every string under a personal
// key is replaced whatever it holds (the erased contact itself).
func (sc *scrubber) walk(v any, all bool, key string) any {
	switch x := v.(type) {
	case string:
		if all && personalKey(key) && x != "" {
			return sc.pseudo
		}
		return sc.text(x)
	case map[string]any:
		for k, e := range x {
			x[k] = sc.walk(e, all, k)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = sc.walk(e, all, key)
		}
		return x
	}
	return v
}

// rewrite returns the JSON document b scrubbed, and whether it changed.
func (sc *scrubber) rewrite(b []byte, all bool) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, err
	}
	v = sc.walk(v, all, "")
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false, err
	}
	res := bytes.TrimSpace(out.Bytes())
	// Compare as values: jsonb prints keys in its own order.
	var before, after any
	_ = json.Unmarshal(b, &before)
	_ = json.Unmarshal(res, &after)
	same, _ := json.Marshal(before)
	now, _ := json.Marshal(after)
	return res, !bytes.Equal(same, now), nil
}

// eraseContact pseudonymises the cached copy of the person's contact,
// keeps the sync from bringing it back while the source holds it, and
// leaves the source's copy to the source (Erasure.sourceRecords).
func eraseContact(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error) {
	if s.ContactID == "" || s.ContactConnection == "" {
		return 0, nil
	}
	r, err := store.PrivacyRecord(ctx, db, store.PrivacyRecordParams{TenantID: s.TenantID, Object: "contact", SourceID: s.ContactID})
	if err != nil {
		return 0, ignoreNotFound(err)
	}
	sc := newScrubber(s, e.Pseudonym)
	data, _, err := sc.rewrite(r.Data, true)
	if err != nil {
		return 0, fmt.Errorf("contact data: %w", err)
	}
	raw, _, err := sc.rewrite(r.Raw, true)
	if err != nil {
		return 0, fmt.Errorf("contact payload: %w", err)
	}
	if err := store.PrivacyRecordRewrite(ctx, db, store.PrivacyRecordRewriteParams{TenantID: s.TenantID, Connection: r.Connection,
		Object: r.Object, SourceID: r.SourceID, Data: data, Raw: raw}); err != nil {
		return 0, err
	}
	if err := store.PrivacySuppress(ctx, db, store.PrivacySuppressParams{TenantID: s.TenantID, Connection: r.Connection,
		Object: r.Object, SourceID: r.SourceID, ErasureID: e.ID}); err != nil {
		return 0, err
	}
	e.sourceRecords = append(e.sourceRecords, SourceRecord{Connection: r.Connection, Object: r.Object, SourceObject: r.SourceObject, SourceID: r.SourceID})
	return 1, nil
}

// scrubCache pseudonymises the person's identifiers in every other cached
// record that holds them.
func scrubCache(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error) {
	sc := newScrubber(s, e.Pseudonym)
	needles := sc.needles()
	if len(needles) == 0 {
		return 0, nil
	}
	// strpos is case-sensitive: search the values as given, too.
	for _, v := range []string{s.Email, s.Phone, s.FullName()} {
		if len(strings.TrimSpace(v)) >= 2 {
			needles = append(needles, v)
		}
	}
	rows, err := store.PrivacyRecordsMentioning(ctx, db, store.PrivacyRecordsMentioningParams{TenantID: s.TenantID, Needles: needles})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range rows {
		data, dch, err := sc.rewrite(r.Data, false)
		if err != nil {
			return n, err
		}
		raw, rch, err := sc.rewrite(r.Raw, false)
		if err != nil {
			return n, err
		}
		if !dch && !rch {
			continue
		}
		if err := store.PrivacyRecordRewrite(ctx, db, store.PrivacyRecordRewriteParams{TenantID: s.TenantID, Connection: r.Connection,
			Object: r.Object, SourceID: r.SourceID, Data: data, Raw: raw}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
