package notify

import (
	"fmt"
	"slices"
	"strings"
	"text/template"

	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/i18n"
)

// Event kinds.
const (
	EventCaseStatus        = "case_status"
	EventCaseComment       = "case_comment"
	EventOrderShipped      = "order_shipped"
	EventInvoiceIssued     = "invoice_issued"
	EventInvoiceDue        = "invoice_due"
	EventInvoiceOverdue    = "invoice_overdue"
	EventApprovalRequested = "approval_requested"
	EventApprovalReminder  = "approval_reminder"
	EventActionApplied     = "action_applied"
	EventActionConflict    = "action_conflict"
	EventActionFailed      = "action_failed"
	EventFileReady         = "file_ready"
	EventFileSigned        = "file_signed"
)

// Events lists every kind, in the order the preferences page shows them.
var Events = []string{
	EventCaseStatus, EventCaseComment, EventOrderShipped, EventInvoiceIssued, EventInvoiceDue,
	EventInvoiceOverdue, EventApprovalRequested, EventApprovalReminder, EventActionApplied,
	EventActionConflict, EventActionFailed, EventFileReady, EventFileSigned,
}

// Channels a user chooses per event.
const (
	ChannelEmail = "email"
	ChannelInbox = "inbox"
)

// Modes of a channel.
const (
	ModeImmediate = "immediate"
	ModeDigest    = "digest"
	ModeOff       = "off"
)

// RuleConfig is one rule as configured (notify.rules, keyed by event):
// which roles receive it (empty: every role that may see the record), the
// default email mode, and the templates (text/template over View). The
// built-in templates are in every portal language (locales/); a
// configured template is used for every language.
type RuleConfig struct {
	Event   string
	Roles   []string
	Email   string
	Subject string
	Body    string
}

// Rule is a compiled RuleConfig.
type Rule struct {
	Event string
	Roles []string
	Email string
	// texts are the templates per language; English is the fallback.
	texts map[language.Tag]ruleText
}

type ruleText struct{ subject, body *template.Template }

// View is what a rule's templates see: the record as the recipient may
// read it.
type View struct {
	Object   string
	ID       string
	Title    string // the record's number, name or subject
	Status   string // the status label
	NextStep string
	Fields   map[string]any // the fields the recipient's roles see
	Tracking string         // order_shipped: the tracking number (and carrier)
	Days     int            // invoice_due, approval_reminder: days left
	Message  string         // action events: what the source said
}

// DefaultRules are the built-in rules, with their English templates (the
// other languages' are in locales/); notify.rules replaces a rule of the
// same event.
func DefaultRules() []RuleConfig {
	en := messages().Messages[language.English]
	out := make([]RuleConfig, 0, len(Events))
	for _, ev := range Events {
		rc := RuleConfig{Event: ev, Subject: en["rule."+ev+".subject"], Body: en["rule."+ev+".body"]}
		switch ev {
		case EventInvoiceIssued, EventInvoiceDue, EventInvoiceOverdue:
			rc.Roles = []string{"account_admin", "billing"}
		case EventFileReady:
			rc.Email = ModeDigest
		}
		out = append(out, rc)
	}
	return out
}

// CompileRules merges configured rules over the defaults and parses their
// templates; an error names the key (notify.rules.<event>.<field>).
func CompileRules(configured map[string]RuleConfig) (map[string]*Rule, error) {
	all := DefaultRules()
	own := map[string]bool{}
	for ev, rc := range configured {
		if !slices.Contains(Events, ev) {
			return nil, fmt.Errorf("notify.rules.%s: not an event; the events are %s", ev, strings.Join(Events, ", "))
		}
		for j := range all {
			if all[j].Event != ev {
				continue
			}
			rc.Event = ev
			own[ev+".subject"], own[ev+".body"] = rc.Subject != "", rc.Body != ""
			if rc.Subject == "" {
				rc.Subject = all[j].Subject
			}
			if rc.Body == "" {
				rc.Body = all[j].Body
			}
			all[j] = rc
		}
	}
	out := make(map[string]*Rule, len(all))
	for _, rc := range all {
		where := "notify.rules." + rc.Event
		if rc.Email == "" {
			rc.Email = ModeImmediate
		}
		if !slices.Contains([]string{ModeImmediate, ModeDigest, ModeOff}, rc.Email) {
			return nil, fmt.Errorf("%s.email: %q is not immediate, digest or off", where, rc.Email)
		}
		r := &Rule{Event: rc.Event, Roles: rc.Roles, Email: rc.Email, texts: map[language.Tag]ruleText{}}
		for _, tag := range i18n.Languages {
			subject, body := rc.Subject, rc.Body
			if msgs := messages().Messages[tag]; tag != language.English {
				if s := msgs["rule."+rc.Event+".subject"]; s != "" && !own[rc.Event+".subject"] {
					subject = s
				}
				if b := msgs["rule."+rc.Event+".body"]; b != "" && !own[rc.Event+".body"] {
					body = b
				}
			}
			st, err := template.New("subject").Option("missingkey=zero").Parse(subject)
			if err != nil {
				return nil, fmt.Errorf("%s.subject: %w", where, err)
			}
			bt, err := template.New("body").Option("missingkey=zero").Parse(body)
			if err != nil {
				return nil, fmt.Errorf("%s.body: %w", where, err)
			}
			r.texts[tag] = ruleText{subject: st, body: bt}
		}
		out[rc.Event] = r
	}
	return out, nil
}

// Render fills the rule's templates for one view in a language (English
// for one the portal does not speak).
func (r *Rule) Render(lang language.Tag, v View) (subject, body string, err error) {
	t, ok := r.texts[lang]
	if !ok {
		t = r.texts[language.English]
	}
	var s, b strings.Builder
	if err := t.subject.Execute(&s, v); err != nil {
		return "", "", fmt.Errorf("notify: %s subject: %w", r.Event, err)
	}
	if err := t.body.Execute(&b, v); err != nil {
		return "", "", fmt.Errorf("notify: %s body: %w", r.Event, err)
	}
	return strings.Join(strings.Fields(s.String()), " "), strings.TrimSpace(b.String()), nil
}

// receives reports whether a user with roles gets the rule's notices.
func (r *Rule) receives(roles []string) bool {
	if len(r.Roles) == 0 {
		return true
	}
	for _, role := range roles {
		if slices.Contains(r.Roles, role) {
			return true
		}
	}
	return false
}
