package accounting

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// faultError is one error of a fault, whichever envelope carried it.
type faultError struct {
	Message string
	Detail  string
	Code    string
	Element string
}

// fault is a parsed fault envelope.
type fault struct {
	Type   string
	Errors []faultError
}

// jsonFaultError accepts both capitalisations: {"fault":{"error":[{"message"...}]}}
// on 401 and {"Fault":{"Error":[{"Message"...}]}} elsewhere. encoding/json
// matches keys case-insensitively, so one struct reads both.
type jsonFaultError struct {
	Message string `json:"message"`
	Detail  string `json:"detail"`
	Code    string `json:"code"`
	Element string `json:"element"`
}

type jsonFault struct {
	Type  string           `json:"type"`
	Error []jsonFaultError `json:"error"`
}

type jsonEnvelope struct {
	Fault *jsonFault `json:"fault"`
}

type xmlFault struct {
	Type   string `xml:"type,attr"`
	Errors []struct {
		Code    string `xml:"code,attr"`
		Element string `xml:"element,attr"`
		Message string `xml:"Message"`
		Detail  string `xml:"Detail"`
	} `xml:"Error"`
}

type xmlEnvelope struct {
	Fault *xmlFault `xml:"Fault"`
}

// parseFault finds a fault in a JSON or XML body; nil when there is none.
func parseFault(body []byte) *fault {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '<' {
		return parseXMLFault(body)
	}
	var env jsonEnvelope
	if json.Unmarshal(body, &env) != nil || env.Fault == nil || len(env.Fault.Error) == 0 {
		return nil
	}
	f := &fault{Type: env.Fault.Type}
	for _, e := range env.Fault.Error {
		f.Errors = append(f.Errors, faultError(e))
	}
	return f
}

func parseXMLFault(body []byte) *fault {
	var xf *xmlFault
	// A bare <Fault> or one inside <IntuitResponse>.
	var bare xmlFault
	if err := xml.Unmarshal(body, &bare); err == nil && len(bare.Errors) > 0 {
		xf = &bare
	} else {
		var env xmlEnvelope
		if xml.Unmarshal(body, &env) != nil || env.Fault == nil || len(env.Fault.Errors) == 0 {
			return nil
		}
		xf = env.Fault
	}
	f := &fault{Type: xf.Type}
	for _, e := range xf.Errors {
		f.Errors = append(f.Errors, faultError{Message: strings.TrimSpace(e.Message), Detail: strings.TrimSpace(e.Detail), Code: e.Code, Element: e.Element})
	}
	return f
}

// text is an error's headline and detail; QuickBooks often repeats the
// headline at the start of the detail, which is then enough.
func (e faultError) text() string {
	switch {
	case e.Detail == "":
		return e.Message
	case e.Message == "" || strings.HasPrefix(e.Detail, e.Message):
		return e.Detail
	}
	return e.Message + ": " + e.Detail
}

func (f *fault) message() string {
	parts := make([]string, 0, len(f.Errors))
	for _, e := range f.Errors {
		parts = append(parts, fmt.Sprintf("%s (code %s)", e.text(), e.Code))
	}
	return strings.Join(parts, "; ")
}

// customerText is every error's text, for the customer: a fault may list
// several problems with the request at once.
func (f *fault) customerText() string {
	parts := make([]string, 0, len(f.Errors))
	for _, e := range f.Errors {
		parts = append(parts, e.text())
	}
	return strings.Join(parts, "; ")
}

// throttleWait is the back-off for a 3001 without Retry-After: QuickBooks
// throttles per minute.
const throttleWait = time.Minute

// classifyFault maps a fault to a connector error. status is the HTTP
// status that carried it (200 for faults inside a success); write says the
// request was a create, update or delete.
func classifyFault(f *fault, status int, h http.Header, write bool) error {
	first := f.Errors[0]
	msg := f.message()
	wait, _ := httpclient.RetryAfter(h)
	switch code := strings.TrimLeft(first.Code, "0"); {
	case code == "3001" || status == http.StatusTooManyRequests:
		if wait == 0 {
			wait = throttleWait
		}
		return &connectors.RateLimitedError{RetryAfter: wait, Msg: msg}
	case code == "3200" || code == "3100" || code == "3202" || status == http.StatusUnauthorized || strings.EqualFold(f.Type, "AUTHENTICATION"):
		return connectors.Classify(connectors.ErrAuthExpired, errors.New(msg))
	case code == "5010":
		return &connectors.ConflictError{Msg: msg}
	case code == "610" && write:
		// On a write, "Object Not Found" means a record the write refers
		// to is inactive or deleted (Write tells a deleted target apart).
		return &connectors.InvalidError{Field: first.Element, Msg: f.customerText(), Code: first.Code}
	case code == "610" || status == http.StatusNotFound:
		return connectors.Classify(connectors.ErrNotFound, errors.New(msg))
	case strings.EqualFold(f.Type, "SystemFault") || status >= 500 || code == "10000":
		return connectors.Classify(connectors.ErrUnavailable, errors.New(msg))
	case strings.EqualFold(f.Type, "ValidationFault") || status == http.StatusBadRequest || code == "6240" || code == "4001" || code == "6000":
		return &connectors.InvalidError{Field: first.Element, Msg: f.customerText(), Code: first.Code}
	}
	return connectors.FromStatus(status, wait, msg)
}

// classify turns a response to a read into an error: any fault, even in a
// 200, or a non-2xx status.
func classify(resp *http.Response, body []byte) error {
	return classifyCall(resp, body, false)
}

// classifyCall is classify for a read or (write) a create, update or delete.
func classifyCall(resp *http.Response, body []byte, write bool) error {
	if f := parseFault(body); f != nil {
		return classifyFault(f, resp.StatusCode, resp.Header, write)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	wait, _ := httpclient.RetryAfter(resp.Header)
	return connectors.FromStatus(resp.StatusCode, wait, strings.TrimSpace(string(body)))
}
