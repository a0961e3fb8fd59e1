package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reports"
)

// The operator console: pages for staff signed in with operator_admin,
// on the portal's templates and access rules. Anyone else gets the 404
// page, as for a record outside their scope.

// requireStaff admits operator_admin staff with a browser session.
func (wb *Web) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := signedIn(r); p == nil || !p.Staff || !p.HasRole(auth.RoleOperatorAdmin) {
			wb.notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// chartSeries are the figures a report's chart draws, summed per day
// over the accounts; the table beside it holds every figure.
var chartSeries = map[string][]string{
	"activation":    {"invited", "activated"},
	"active_users":  {"daily"},
	"workflows":     {"started", "completed"},
	"self_service":  {"knowledge_views", "status_lookups", "cases_opened"},
	"notifications": {"sent", "opened", "clicked"},
	"writeback":     {"applied", "conflict", "failed"},
}

// seriesColours are the bars' fills, each with a contrast of at least
// 3:1 against the page's white.
var seriesColours = []string{"#1d4ed8", "#b45309", "#047857"}

type reportTab struct {
	Href, Label string
	Current     bool
}

type reportPage struct {
	Name, Title string
	Tabs        []reportTab
	From, Until string
	Account     string
	CSV         string
	Columns     []string
	Rows        [][]string
	Chart       *chart
	Bad         bool
}

func (wb *Web) consoleReports(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/reports/"+reports.Names[0], http.StatusSeeOther)
}

func (wb *Web) consoleReport(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if wb.d.Reports == nil || !slices.Contains(reports.Names, name) {
		wb.notFound(w, r)
		return
	}
	v := wb.newView(r, key("console.reports.title"), nil)
	v.Section = "console"
	l := v.L
	p := reportPage{Name: name, Title: l.T("report." + name)}
	for _, n := range reports.Names {
		p.Tabs = append(p.Tabs, reportTab{Href: "/console/reports/" + n, Label: l.T("report." + n), Current: n == name})
	}
	// The form sends every field; an empty one is the default.
	q := url.Values{}
	for k, vs := range r.URL.Query() {
		if k == "from" || k == "until" || k == "account" {
			if len(vs) > 0 && vs[0] != "" {
				q.Set(k, vs[0])
				v.Form[k] = vs[0]
			}
		}
	}
	rq := r.Clone(r.Context())
	rq.URL.RawQuery = q.Encode()
	query, _, bad := reports.ParseQuery(rq, wb.d.Now())
	status := http.StatusOK
	if len(bad) > 0 {
		for _, f := range bad {
			v.Fields[f.Path] = l.T("console.reports.bad_" + f.Path)
		}
		v.Alert = key("console.reports.bad")
		p.Bad, status = true, http.StatusBadRequest
		v.Page = p
		wb.render(w, r, status, "console_report", v)
		return
	}
	t, err := wb.d.Reports.Run(r.Context(), name, query)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	p.From, p.Until, p.Account = t.From, t.Until, query.Account
	csvQ := url.Values{"format": {"csv"}, "from": {t.From}, "until": {t.Until}}
	if query.Account != "" {
		csvQ.Set("account", query.Account)
	}
	p.CSV = "/admin/reports/" + name + "?" + csvQ.Encode()
	for _, c := range t.Columns {
		p.Columns = append(p.Columns, l.T("report.col."+c))
	}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = reports.Format(c)
		}
		p.Rows = append(p.Rows, cells)
	}
	p.Chart = newChart(t, chartSeries[name], func(col string) string { return l.T("report.col." + col) },
		l.T("console.reports.chart_title", p.Title, t.From, t.Until))
	v.Page = p
	wb.render(w, r, status, "console_report", v)
}

// chart is a grouped bar chart drawn on the server as SVG: one group per
// day, one bar per series. Its title and description name what it shows;
// the table on the page holds the same figures for those who cannot see
// it.
type chart struct {
	Title, Desc   string
	Width, Height int
	Legend        []legendEntry
	Bars          []bar
	Labels        []axisLabel
	Max           int64
	Baseline      int
}

type legendEntry struct{ Label, Colour string }

type bar struct {
	X, Y, W, H int
	Colour     string
	Tip        string
}

type axisLabel struct {
	X, Y int
	Text string
}

const (
	chartWidth   = 640
	chartHeight  = 220
	chartPadding = 28
)

// newChart sums the series' columns per day over t's rows; nil when t
// has no rows.
func newChart(t reports.Table, series []string, label func(string) string, title string) *chart {
	if len(t.Rows) == 0 || len(series) == 0 {
		return nil
	}
	idx := map[string]int{}
	for i, c := range t.Columns {
		idx[c] = i
	}
	var days []string
	sums := map[string][]int64{}
	for _, row := range t.Rows {
		d := row[0].(string)
		if _, ok := sums[d]; !ok {
			days = append(days, d)
			sums[d] = make([]int64, len(series))
		}
		for i, s := range series {
			if n, ok := row[idx[s]].(int64); ok {
				sums[d][i] += n
			}
		}
	}
	slices.Sort(days)
	c := &chart{Title: title, Width: chartWidth, Height: chartHeight, Baseline: chartHeight - chartPadding}
	for _, d := range days {
		for _, n := range sums[d] {
			c.Max = max(c.Max, n)
		}
	}
	var desc []string
	for i, s := range series {
		c.Legend = append(c.Legend, legendEntry{Label: label(s), Colour: seriesColours[i%len(seriesColours)]})
		var total int64
		for _, d := range days {
			total += sums[d][i]
		}
		desc = append(desc, fmt.Sprintf("%s: %d", label(s), total))
	}
	c.Desc = strings.Join(desc, "; ")
	group := (chartWidth - 2*chartPadding) / len(days)
	barW := max(1, (group-4)/len(series))
	plot := c.Baseline - chartPadding/2
	for di, d := range days {
		x0 := chartPadding + di*group + 2
		for i, n := range sums[d] {
			h := 0
			if c.Max > 0 {
				h = int(n * int64(plot) / c.Max)
			}
			c.Bars = append(c.Bars, bar{X: x0 + i*barW, Y: c.Baseline - h, W: max(1, barW-1), H: h,
				Colour: seriesColours[i%len(seriesColours)], Tip: fmt.Sprintf("%s %s: %d", d, label(series[i]), n)})
		}
	}
	c.Labels = append(c.Labels, axisLabel{X: chartPadding, Y: chartHeight - 8, Text: days[0]})
	if len(days) > 1 {
		c.Labels = append(c.Labels, axisLabel{X: chartWidth - chartPadding - 70, Y: chartHeight - 8, Text: days[len(days)-1]})
	}
	return c
}
