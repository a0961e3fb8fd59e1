package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// createFile inserts a ContentVersion with its content through the
// multipart REST upload ("Insert or Update Blob Data"): the record's
// fields as the JSON part entity_content, the file streamed as the part
// VersionData. Salesforce offers no multipart upsert, so the write's key
// goes in the external-id field, which the org keeps unique: a repeated
// upload whose first answer was lost fails with DUPLICATE_VALUE on that
// field, and the record the first one made is read by the key instead.
func (c *Connector) createFile(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	if w.Object != "ContentVersion" {
		return nil, &connectors.InvalidError{Field: "object", Msg: "files are uploaded as ContentVersion, not " + w.Object}
	}
	fields := withoutID(w.Fields)
	if w.IdempotencyKey != "" {
		fields[ExternalIDField] = w.IdempotencyKey
	}
	if fields["PathOnClient"] == nil {
		fields["PathOnClient"] = w.File.Name
	}
	if fields["Title"] == nil {
		fields["Title"] = w.File.Name
	}
	entity, err := json.Marshal(fields)
	if err != nil {
		return nil, &connectors.InvalidError{Msg: "the file's fields cannot be encoded: " + err.Error()}
	}
	raw, done, err := wire.FileUpload(ctx, w.File,
		wire.Part{Name: "VersionData", FileName: w.File.Name, ContentType: "application/octet-stream"},
		wire.Part{Name: "entity_content", ContentType: "application/json", Data: entity})
	if err != nil {
		return nil, fmt.Errorf("salesforce: %w", err)
	}
	defer done()
	resp, body, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: "/sobjects/ContentVersion/", Raw: raw, Write: true, Idempotent: w.IdempotencyKey != ""})
	var inv *connectors.InvalidError
	if errors.As(err, &inv) && inv.Code == "DUPLICATE_VALUE" && strings.EqualFold(inv.Field, ExternalIDField) && w.IdempotencyKey != "" {
		return c.fileByKey(ctx, w.IdempotencyKey)
	}
	if err != nil {
		return nil, err
	}
	id, err := savedID(body)
	if err != nil {
		return nil, err
	}
	return c.result(ctx, "ContentVersion", id, resp.StatusCode == http.StatusCreated)
}

// fileByKey reads the ContentVersion an earlier attempt of the same write
// created.
func (c *Connector) fileByKey(ctx context.Context, key string) (*connectors.WriteResult, error) {
	_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/sobjects/ContentVersion/" + ExternalIDField + "/" + url.PathEscape(key), Write: true})
	if err != nil {
		return nil, err
	}
	rec, err := toRecord("ContentVersion", body)
	if err != nil {
		return nil, err
	}
	return &connectors.WriteResult{ID: rec.ID, Version: rec.Version, Record: &rec}, nil
}

// savedID reads a create's save result.
func savedID(body []byte) (string, error) {
	var sr saveResult
	if err := json.Unmarshal(body, &sr); err != nil {
		return "", connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode save result: %w", err))
	}
	if sr.ID == "" || len(sr.Errors) > 0 {
		return "", connectors.Classify(connectors.ErrPermanent, fmt.Errorf("salesforce: save result without id: %s", body))
	}
	return sr.ID, nil
}

// ReadFile reads a ContentVersion's content (its VersionData) through the
// shared client, so the breaker, retries and quota apply as to any read,
// and streams it: the body is handed on as it arrives, never held whole
// nor bounded by the client's max_response_bytes.
func (c *Connector) ReadFile(ctx context.Context, object, id string) (io.ReadCloser, error) {
	if object != "ContentVersion" {
		return nil, &connectors.InvalidError{Field: "object", Msg: "files are read as ContentVersion, not " + object}
	}
	resp, _, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/sobjects/ContentVersion/" + url.PathEscape(id) + "/VersionData", Stream: true})
	if err != nil {
		return nil, err
	}
	return &connectors.Content{ReadCloser: resp.Body, Length: resp.ContentLength}, nil
}
