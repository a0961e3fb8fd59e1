package wire_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// TestCallerRenewsOnceOn401: a 401 renews the token and sends the call
// again once; a second 401 comes back for the connector to classify.
func TestCallerRenewsOnceOn401(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var good atomic.Value
	good.Store("fresh")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "v1", r.Header.Get("Api-Version"))
		if r.Header.Get("Authorization") != "Bearer "+good.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	var renewals atomic.Int64
	c := &wire.Caller{Name: "test", HTTP: srv.Client(), Header: http.Header{"Api-Version": {"v1"}},
		URL:   func(path string) (string, error) { return srv.URL + path, nil },
		Token: func(context.Context) (string, error) { return "stale", nil },
		Renew: func(_ context.Context, stale string) (string, error) {
			renewals.Add(1)
			require.Equal(t, "stale", stale)
			return "fresh", nil
		}}
	resp, body, err := c.Do(context.Background(), wire.Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"ok":true}`, string(body))
	require.EqualValues(t, 2, calls.Load())
	require.EqualValues(t, 1, renewals.Load())

	good.Store("never")
	resp, _, err = c.Do(context.Background(), wire.Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "renewed once, then the 401 is the connector's to classify")
	require.EqualValues(t, 4, calls.Load())
	require.EqualValues(t, 2, renewals.Load())
}

func TestPageTokens(t *testing.T) {
	t.Parallel()
	type tok struct {
		N string `json:"n"`
		C int    `json:"c"`
	}
	got, err := wire.DecodeToken[tok](wire.EncodeToken(tok{N: "next", C: 3}))
	require.NoError(t, err)
	require.Equal(t, tok{N: "next", C: 3}, got)
	_, err = wire.DecodeToken[tok]("not a token!")
	var ie *connectors.InvalidError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "page", ie.Field)
}

func TestValidHMAC(t *testing.T) {
	t.Parallel()
	m := hmac.New(sha256.New, []byte("key"))
	m.Write([]byte("https://x.example/hook{}"))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	require.True(t, wire.ValidHMAC("key", "https://x.example/hook", []byte("{}"), sig))
	require.False(t, wire.ValidHMAC("key", "", []byte("{}"), sig), "the prefix is signed too")
	require.False(t, wire.ValidHMAC("other", "https://x.example/hook", []byte("{}"), sig))
	require.False(t, wire.ValidHMAC("", "", nil, ""), "an empty key or signature never verifies")
}

// TestBaseAndTuning: NewBase refuses deps without a client or a base URL
// and gives a logger either way; WithDefaults fills only the zero fields.
func TestBaseAndTuning(t *testing.T) {
	t.Parallel()
	_, err := wire.NewBase("notes", connectors.Deps{Connection: connectors.Connection{BaseURL: "https://x.example"}})
	require.ErrorContains(t, err, "notes: an HTTP client is required")
	_, err = wire.NewBase("notes", connectors.Deps{HTTP: http.DefaultClient})
	require.ErrorContains(t, err, "notes: base_url is required")
	b, err := wire.NewBase("notes", connectors.Deps{HTTP: http.DefaultClient, Connection: connectors.Connection{Name: "n", BaseURL: "https://x.example"}})
	require.NoError(t, err)
	require.NotNil(t, b.Log)
	require.Equal(t, "n", b.Conn.Name)

	tu := wire.Tuning{}.WithDefaults(time.Minute, 100)
	require.Equal(t, time.Minute, tu.Overlap)
	require.Equal(t, 100, tu.PageSize)
	require.NotNil(t, tu.Now)
	tu = wire.Tuning{Overlap: time.Second, PageSize: 7}.WithDefaults(time.Minute, 100)
	require.Equal(t, time.Second, tu.Overlap)
	require.Equal(t, 7, tu.PageSize)
}

// closingReader is a file reader that is also an io.Closer, as the file
// store's is.
type closingReader struct {
	*strings.Reader
	closed atomic.Int32
}

func (r *closingReader) Close() error { r.closed.Add(1); return nil }

// TestFileUploadStreamsTheFileAndClosesIt: the small parts come first and
// the file's content last; done closes a reader that closes, once; a file
// that cannot be opened names the cause.
func TestFileUploadStreamsTheFileAndClosesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	content := &closingReader{Reader: strings.NewReader("%PDF-1.7 body")}
	f := &connectors.File{Name: "a.pdf", ContentType: "application/pdf", Size: content.Size(),
		Open: func(context.Context) (io.ReadSeeker, error) { return content, nil }}
	raw, done, err := wire.FileUpload(ctx, f, wire.Part{Name: "file", FileName: "a.pdf", ContentType: "application/pdf"},
		wire.Part{Name: "meta", ContentType: "application/json", Data: []byte(`{"x":1}`)})
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(raw.ContentType)
	require.NoError(t, err)
	mr := multipart.NewReader(raw.Body, params["boundary"])
	var got []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		got = append(got, p.FormName()+"="+string(b))
	}
	require.Equal(t, []string{`meta={"x":1}`, "file=%PDF-1.7 body"}, got)
	require.Zero(t, content.closed.Load(), "open while the request may still read it")
	done()
	require.EqualValues(t, 1, content.closed.Load())

	f.Open = func(context.Context) (io.ReadSeeker, error) { return nil, errors.New("gone") }
	_, _, err = wire.FileUpload(ctx, f, wire.Part{Name: "file"})
	require.ErrorContains(t, err, "opening the file: gone")
}
