package reports

import (
	"encoding/csv"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/reply"
)

// DefaultDays is the range of a report asked for without from.
const DefaultDays = 30

// AdminRoutes serves the reports to staff; mount it behind the /admin
// check, e.g. r.Mount("/reports", reports.AdminRoutes(svc, log)):
//
//	GET /                      the report names
//	GET /{name}?from=&until=&account=&format=json|csv
//
// from and until are dates (YYYY-MM-DD, UTC; until exclusive, default
// tomorrow; from defaults to 30 days before until). CSV is chosen by
// format=csv or by Accept: text/csv. A bad parameter is 400 naming it.
func AdminRoutes(s *Service, log *slog.Logger) chi.Router {
	rp := reply.New(log)
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, req *http.Request) {
		rp.JSON(w, req, http.StatusOK, map[string]any{"reports": Names})
	})
	r.Get("/{name}", func(w http.ResponseWriter, req *http.Request) {
		name := chi.URLParam(req, "name")
		if !slices.Contains(Names, name) {
			rp.Error(w, req, http.StatusNotFound, "not_found", "no report "+strconv.Quote(name)+"; the reports are "+strings.Join(Names, ", "))
			return
		}
		q, csvOut, errs := ParseQuery(req, time.Now())
		if len(errs) > 0 {
			rp.Error(w, req, http.StatusBadRequest, "invalid", "bad query parameters: "+errs[0].Path+" "+errs[0].Message, errs...)
			return
		}
		t, err := s.Run(req.Context(), name, q)
		if err != nil {
			rp.Internal(w, req, err)
			return
		}
		if csvOut {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s_%s_%s.csv"`, name, t.From, t.Until))
			_ = WriteCSV(w, t)
			return
		}
		rp.JSON(w, req, http.StatusOK, t)
	})
	return r
}

// ParseQuery reads a report's query parameters; now sets the defaults.
// csv reports whether the caller asked for CSV.
func ParseQuery(req *http.Request, now time.Time) (q Query, csvOut bool, errs []reply.Field) {
	v := req.URL.Query()
	bad := func(path, msg string) { errs = append(errs, reply.Field{Path: path, Message: msg}) }
	today := now.UTC().Truncate(24 * time.Hour)
	q.Until = today.AddDate(0, 0, 1)
	for name, values := range v {
		if len(values) != 1 {
			bad(name, "give "+name+" once")
			continue
		}
		val := values[0]
		switch name {
		case "from", "until":
			d, err := time.Parse(time.DateOnly, val)
			if err != nil {
				bad(name, "must be a date such as 2026-01-31")
			} else if name == "from" {
				q.From = d
			} else {
				q.Until = d
			}
		case "account":
			if val == "" {
				bad(name, "must not be empty (leave it out for every account)")
			}
			q.Account = val
		case "format":
			switch val {
			case "csv":
				csvOut = true
			case "json":
			default:
				bad(name, "must be json or csv")
			}
		default:
			bad(name, "unknown parameter")
		}
	}
	if q.From.IsZero() {
		q.From = q.Until.AddDate(0, 0, -DefaultDays)
	}
	switch {
	case !q.Until.After(q.From):
		bad("until", "must be later than from")
	case q.Until.Sub(q.From) > MaxDays*24*time.Hour:
		bad("from", fmt.Sprintf("the range must be at most %d days", MaxDays))
	}
	if v.Get("format") == "" && acceptsCSV(req.Header.Get("Accept")) {
		csvOut = true
	}
	slices.SortFunc(errs, func(a, b reply.Field) int { return strings.Compare(a.Path, b.Path) })
	return q, csvOut, errs
}

// acceptsCSV reports whether Accept prefers text/csv to JSON: its first
// media type is text/csv.
func acceptsCSV(accept string) bool {
	first, _, _ := strings.Cut(accept, ",")
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(first))
	return err == nil && mt == "text/csv"
}

// WriteCSV writes t as CSV with a header row.
func WriteCSV(w interface{ Write([]byte) (int, error) }, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i, v := range row {
			rec[i] = Format(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Format renders one value of a row as CSV and the console show it.
func Format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
