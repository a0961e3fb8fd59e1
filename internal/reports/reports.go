package reports

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store"
)

// Names are the reports, in the order the console lists them.
var Names = []string{"activation", "active_users", "workflows", "self_service", "notifications", "writeback"}

// Workflow is a flow whose completion the workflows report measures: the
// records of a portal object, from their creation in the source to their
// first status in End.
type Workflow struct {
	Name   string
	Object string
	End    []string
}

// Workflows are the shipped mappings' flows (mappings/*.yaml).
var Workflows = []Workflow{
	{Name: "case", Object: "case", End: []string{"closed"}},
	{Name: "approval", Object: "approval_request", End: []string{"accepted", "rejected"}},
	{Name: "invoice", Object: "invoice", End: []string{"paid"}},
}

// Query selects the days [From, Until) (UTC dates) and one account, or
// all accounts when Account is empty.
type Query struct {
	From, Until time.Time
	Account     string
}

// MaxDays caps a report's range.
const MaxDays = 366

// Table is one report: its columns and its rows, each a value per column
// (string, int64 or float64).
type Table struct {
	Name    string   `json:"report"`
	From    string   `json:"from"`
	Until   string   `json:"until"`
	Account string   `json:"account,omitempty"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Service runs the reports of one tenant.
type Service struct {
	db     store.DBTX
	tenant int64
}

// New returns the reports of tenant over db.
func New(db store.DBTX, tenant int64) *Service { return &Service{db: db, tenant: tenant} }

// ErrUnknown is returned for a report name not in Names.
var ErrUnknown = fmt.Errorf("reports: unknown report")

func date(t time.Time) pgtype.Date { return pgtype.Date{Time: t.UTC(), Valid: true} }

func day(d pgtype.Date) string { return d.Time.Format(time.DateOnly) }

// ratio is n/d rounded to 4 places; 0 when d is 0.
func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*10000) / 10000
}

// seconds rounds a duration in seconds to milliseconds.
func seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

// Run computes the named report.
func (s *Service) Run(ctx context.Context, name string, q Query) (Table, error) {
	t := Table{Name: name, From: q.From.Format(time.DateOnly), Until: q.Until.Format(time.DateOnly), Account: q.Account, Rows: [][]any{}}
	from, until := date(q.From), date(q.Until)
	fromAt, untilAt := pgtype.Timestamptz{Time: q.From, Valid: true}, pgtype.Timestamptz{Time: q.Until, Valid: true}
	switch name {
	case "activation":
		t.Columns = []string{"day", "account_id", "invited", "activated", "activation_rate"}
		rows, err := store.ReportActivation(ctx, s.db, store.ReportActivationParams{TenantID: s.tenant, FromDay: from, UntilDay: until, Account: q.Account})
		if err != nil {
			return t, fmt.Errorf("reports: activation: %w", err)
		}
		for _, r := range rows {
			t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, r.Invited, r.Activated, ratio(r.Activated, r.Invited)})
		}
	case "active_users":
		t.Columns = []string{"day", "account_id", "daily", "weekly", "monthly"}
		rows, err := store.ReportActiveUsers(ctx, s.db, store.ReportActiveUsersParams{TenantID: s.tenant, FromDay: from, UntilDay: until, Account: q.Account})
		if err != nil {
			return t, fmt.Errorf("reports: active users: %w", err)
		}
		for _, r := range rows {
			t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, r.Daily, r.Weekly, r.Monthly})
		}
	case "workflows":
		t.Columns = []string{"day", "account_id", "workflow", "started", "completed", "completion_rate", "median_seconds"}
		for _, wf := range Workflows {
			rows, err := store.ReportWorkflow(ctx, s.db, store.ReportWorkflowParams{TenantID: s.tenant, FromDay: from, UntilDay: until,
				Account: q.Account, Object: wf.Object, EndStatuses: wf.End})
			if err != nil {
				return t, fmt.Errorf("reports: workflow %s: %w", wf.Name, err)
			}
			for _, r := range rows {
				t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, wf.Name, r.Started, r.Completed, ratio(r.Completed, r.Started), seconds(r.MedianSeconds)})
			}
		}
	case "self_service":
		t.Columns = []string{"day", "account_id", "knowledge_views", "status_lookups", "cases_opened", "self_service_ratio"}
		rows, err := store.ReportSelfService(ctx, s.db, store.ReportSelfServiceParams{TenantID: s.tenant, FromDay: from, UntilDay: until,
			FromAt: fromAt, UntilAt: untilAt, Account: q.Account})
		if err != nil {
			return t, fmt.Errorf("reports: self service: %w", err)
		}
		for _, r := range rows {
			t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, r.KnowledgeViews, r.StatusLookups, r.CasesOpened,
				ratio(r.KnowledgeViews+r.StatusLookups, r.KnowledgeViews+r.StatusLookups+r.CasesOpened)})
		}
	case "notifications":
		t.Columns = []string{"day", "account_id", "sent", "opened", "clicked", "open_rate", "click_rate"}
		rows, err := store.ReportNotifications(ctx, s.db, store.ReportNotificationsParams{TenantID: s.tenant, FromAt: fromAt, UntilAt: untilAt, Account: q.Account})
		if err != nil {
			return t, fmt.Errorf("reports: notifications: %w", err)
		}
		for _, r := range rows {
			t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, r.Sent, r.Opened, r.Clicked, ratio(r.Opened, r.Sent), ratio(r.Clicked, r.Sent)})
		}
	case "writeback":
		t.Columns = []string{"day", "account_id", "submitted", "applied", "conflict", "failed", "p50_seconds", "p99_seconds"}
		rows, err := store.ReportWriteback(ctx, s.db, store.ReportWritebackParams{TenantID: s.tenant, FromAt: fromAt, UntilAt: untilAt, Account: q.Account})
		if err != nil {
			return t, fmt.Errorf("reports: writeback: %w", err)
		}
		for _, r := range rows {
			t.Rows = append(t.Rows, []any{day(r.Day), r.AccountID, r.Submitted, r.Applied, r.Conflict, r.Failed, seconds(r.P50Seconds), seconds(r.P99Seconds)})
		}
	default:
		return t, ErrUnknown
	}
	return t, nil
}
