package accounting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// upload creates an Attachable with its file through QuickBooks' upload
// endpoint: the Attachable (its AttachableRef linking the invoice) as the
// JSON part file_metadata_01, the file streamed as file_content_01. The
// requestid makes a repeated upload answer with the first one's result,
// as every other write.
func (c *Connector) upload(ctx context.Context, w connectors.Write, meta map[string]any, q url.Values) (*connectors.WriteResult, error) {
	if w.Object != "Attachable" {
		return nil, &connectors.InvalidError{Field: "object", Msg: "files are uploaded as Attachable, not " + w.Object}
	}
	if meta["FileName"] == nil {
		meta["FileName"] = w.File.Name
	}
	meta["ContentType"] = w.File.ContentType
	metadata, err := json.Marshal(meta)
	if err != nil {
		return nil, &connectors.InvalidError{Msg: "the attachment's fields cannot be encoded: " + err.Error()}
	}
	raw, done, err := wire.FileUpload(ctx, w.File,
		wire.Part{Name: "file_content_01", FileName: fmt.Sprint(meta["FileName"]), ContentType: w.File.ContentType},
		wire.Part{Name: "file_metadata_01", FileName: "attachment.json", ContentType: "application/json", Data: metadata})
	if err != nil {
		return nil, fmt.Errorf("accounting: %w", err)
	}
	defer done()
	body, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: "/upload", Query: q, Raw: raw, Write: true, Idempotent: q.Get("requestid") != ""})
	if err != nil {
		return nil, err
	}
	// {"AttachableResponse":[{"Attachable":{...}}]} or, for a file the
	// service refused, [{"Fault":{...}}].
	item := gjson.GetBytes(body, "AttachableResponse.0")
	if f := item.Get("Fault.Error.0"); f.Exists() {
		return nil, &connectors.InvalidError{Code: f.Get("code").String(), Msg: f.Get("Detail").String()}
	}
	att := item.Get("Attachable")
	if !att.IsObject() {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: upload answer without an Attachable: %.200s", body))
	}
	rec, err := toRecord("Attachable", []byte(att.Raw))
	if err != nil {
		return nil, err
	}
	return &connectors.WriteResult{ID: rec.ID, Version: rec.Version, Created: true, Record: &rec}, nil
}
