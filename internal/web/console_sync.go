package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/porticohq/portico/internal/syncer"
)

// SyncStatus reports every synced object's health, as GET /admin/sync
// does (the syncer's Status with the connections' breakers and quotas).
type SyncStatus func(ctx context.Context) ([]syncer.ConnectionStatus, error)

type syncObjectRow struct {
	Object, LastSuccess, Lag, Records, WithoutOwner, LastError, LastRun string
	Failing                                                             bool
}

type syncConnection struct {
	Name, Breaker, QuotaMinute, QuotaDay string
	BreakerOpen                          bool
	// Connectable shows the Connect button (a consent flow exists).
	Connectable bool
	Objects     []syncObjectRow
}

type syncPage struct {
	Connections []syncConnection
	// Callback is the URL the vendors' apps must know for Connect.
	Callback string
	// Consent is the vendor's consent page of the Connect of Connecting
	// just begun.
	Consent, Connecting string
	// Connected names the connection a Connect just stored tokens of;
	// Error says why a Connect failed.
	Connected, Error string
}

func (wb *Web) consoleSync(w http.ResponseWriter, r *http.Request) {
	p := syncPage{}
	if c := r.URL.Query().Get("connected"); c != "" && wb.d.Connect != nil && wb.d.Connect.Connectable(c) {
		p.Connected = c
	}
	wb.renderSync(w, r, http.StatusOK, p)
}

// renderSync renders the sync page with status, p's notices kept.
func (wb *Web) renderSync(w http.ResponseWriter, r *http.Request, status int, p syncPage) {
	if wb.d.SyncStatus == nil {
		wb.notFound(w, r)
		return
	}
	st, err := wb.d.SyncStatus(r.Context())
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("console.sync.title"), nil)
	v.Section = "console"
	l := v.L
	quota := func(n int) string {
		if n < 0 {
			return l.T("console.sync.no_limit")
		}
		return strconv.Itoa(n)
	}
	if wb.d.Connect != nil {
		p.Callback = wb.d.Connect.CallbackURL()
	}
	for _, c := range st {
		sc := syncConnection{Name: c.Connection, Connectable: wb.d.Connect != nil && wb.d.Connect.Connectable(c.Connection), Breaker: l.T("console.sync.breaker." + breakerKey(c.Breaker)),
			BreakerOpen: c.Breaker == "open", QuotaMinute: quota(c.Quota.Minute), QuotaDay: quota(c.Quota.Day)}
		for _, o := range c.Objects {
			row := syncObjectRow{Object: o.Object, Records: strconv.FormatInt(o.Records, 10),
				WithoutOwner: strconv.FormatInt(o.WithoutOwner, 10), LastError: o.LastError, Failing: o.FailingSince != nil,
				LastSuccess: l.T("console.sync.never"), Lag: "–"}
			if o.LastSuccessAt != nil {
				row.LastSuccess = l.DateTime(*o.LastSuccessAt)
			}
			if o.LagSeconds != nil {
				row.Lag = (time.Duration(*o.LagSeconds) * time.Second).Round(time.Second).String()
			}
			if len(o.Runs) > 0 {
				run := o.Runs[0]
				row.LastRun = l.T("console.sync.run", run.Kind, run.State, l.DateTime(run.StartedAt))
			}
			sc.Objects = append(sc.Objects, row)
		}
		p.Connections = append(p.Connections, sc)
	}
	v.Page = p
	wb.render(w, r, status, "console_sync", v)
}

// breakerKey is a breaker state's message key part; an unknown state
// reads as unknown.
func breakerKey(s string) string {
	switch s {
	case "closed", "open", "half-open":
		return s
	}
	return "unknown"
}
