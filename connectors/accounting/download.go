package accounting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/wire"
)

// ReadFile reads an Attachable's content: QuickBooks' download endpoint
// answers its TempDownloadUri, a short-lived URL read without the token.
// Both calls go through the shared client (breaker, retries, quota).
func (c *Connector) ReadFile(ctx context.Context, object, id string) (io.ReadCloser, error) {
	if object != "Attachable" {
		return nil, &connectors.InvalidError{Field: "object", Msg: "files are read as Attachable, not " + object}
	}
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/download/" + url.PathEscape(id)})
	if err != nil {
		return nil, err
	}
	uri := strings.TrimSpace(string(body))
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, connectors.Classify(connectors.ErrPermanent, errors.New("accounting: the download answered no TempDownloadUri"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("accounting: TempDownloadUri: %w", err))
	}
	resp, err := c.HTTP.Do(httpclient.Stream(req)) // handed on as it arrives, not read whole
	if err != nil {
		return nil, fmt.Errorf("accounting: TempDownloadUri: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		if err := classifyCall(resp, msg, false); err != nil {
			return nil, fmt.Errorf("accounting: TempDownloadUri: %w", err)
		}
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: TempDownloadUri answered %d", resp.StatusCode))
	}
	return &connectors.Content{ReadCloser: resp.Body, Length: resp.ContentLength}, nil
}
