package web

import (
	"strings"

	"github.com/porticohq/portico/internal/reply"
)

// knownMessages are field messages of the services that the catalogs
// translate; any other message is shown as the service wrote it.
var knownMessages = map[string]string{
	"is required":                             key("field.required"),
	"must not be empty":                       key("field.required"),
	"is invalid, already used or expired":     key("token.bad"),
	"must be keep_mine or keep_theirs":        key("field.resolution_choose"),
	"is required: type your full name":        key("sign.name_required"),
	"is required: tick the statement to sign": key("sign.consent_required"),
	"must be text of at most 200 characters":  key("sign.name_too_long"),
}

// fieldErrors are the services' field errors by form field name, in the
// page's language. A path "input.subject" or "subject" is the field
// "subject".
func fieldErrors(l *loc, fields []reply.Field) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		name := strings.TrimPrefix(f.Path, "input.")
		// A mapping's message starts with the field's source name
		// ("body must not be empty"); the form shows it beside the field.
		msg := strings.TrimPrefix(f.Message, name+" ")
		if k, ok := knownMessages[msg]; ok {
			msg = l.T(k)
		} else if strings.HasPrefix(msg, "field.") {
			msg = l.T(msg)
		}
		if prev, ok := out[name]; ok {
			msg = prev + "; " + msg
		}
		out[name] = msg
	}
	return out
}
