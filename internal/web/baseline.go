package web

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"

	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/auth"
)

// HubBaseline is what `portico bench web` measures the status hub
// against: the hub's own template rendered with fixed data (every block,
// with as many items as items names by block id, at most hubLimit), no
// session, no access policy and no reads, and compressed as the hub is for
// a browser that accepts gzip. It is not mounted on the portal's router.
func (wb *Web) HubBaseline(items map[string]int) http.Handler {
	user := &auth.Principal{UserID: 1, TenantID: 1, AccountID: "001B00000000000", Email: "alice.admin@demo.portico.test",
		Roles: []string{auth.RoleAccountAdmin}, SessionID: "baseline"}
	var blocks []*block
	specs := append(slices.Clone(hubBlocks), hubBlock{id: "actions", title: key("hub.actions"), empty: key("hub.actions_empty")})
	for _, hb := range specs {
		b := &block{ID: hb.id, Title: hb.title, Empty: hb.empty, More: hb.more}
		for i := range min(items[hb.id], hubLimit) {
			b.Fresh = "Updated 12 seconds ago"
			b.Items = append(b.Items, item{Title: fmt.Sprintf("Printer %d does not print after the update", i),
				Href: fmt.Sprintf("%s/500B0000000000%d", hb.more, i), Status: "working", Label: "In progress",
				Next: "We are working on it and will write when we know more.", Detail: fmt.Sprintf("Case 0000100%d", i)})
		}
		blocks = append(blocks, b)
	}
	t := wb.pages.byName["home"]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site := wb.d.Brand.Get()
		v := &view{Brand: site, Support: support(site), L: wb.cats.loc(language.English, wb.d.Now()), Assets: wb.assets, User: user,
			CSRF: "baseline-csrf-token-0123456789abcdef", Title: key("hub.title"), Section: "home", Fields: map[string]string{},
			Form: map[string]string{}, Page: blocks, Here: "/", Nav: navEntries}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	})
	return compressPages(h)
}
