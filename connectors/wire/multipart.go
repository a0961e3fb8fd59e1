package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"

	"github.com/porticohq/portico/connectors"
)

// Part is one part of a multipart upload: small bytes (Data) or content
// streamed from a reader of known size (Content, Size).
type Part struct {
	Name        string // the form field
	FileName    string // empty for a field that is not a file
	ContentType string
	Data        []byte
	Content     io.ReadSeeker
	Size        int64
}

// Multipart lays out parts as a multipart/form-data body that streams:
// the headers and small parts are bytes, a file's content is read from its
// reader as the body is sent, and the whole body can seek back to its
// start, so a retried request sends it again without holding it in
// memory. It returns the body for Call.Raw.
func Multipart(parts ...Part) (*Raw, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var segs []segment
	flush := func() {
		if buf.Len() > 0 {
			b := bytes.Clone(buf.Bytes())
			segs = append(segs, segment{r: bytes.NewReader(b), size: int64(len(b))})
			buf.Reset()
		}
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.Name)
		if p.FileName != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.FileName)
		}
		h.Set("Content-Disposition", cd)
		if p.ContentType != "" {
			h.Set("Content-Type", p.ContentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if p.Content == nil {
			_, _ = w.Write(p.Data)
			continue
		}
		flush()
		segs = append(segs, segment{r: p.Content, size: p.Size})
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	flush()
	r := &concat{segs: segs}
	for _, s := range segs {
		r.size += s.size
	}
	return &Raw{Body: r, ContentType: mw.FormDataContentType(), Length: r.size}, nil
}

// Raw is a request body sent as it is (not JSON): its reader, seekable so
// that every attempt sends it from the start, its type and length.
type Raw struct {
	Body        io.ReadSeeker
	ContentType string
	Length      int64
}

type segment struct {
	r    io.ReadSeeker
	size int64
}

// concat reads segments one after another and seeks across them.
type concat struct {
	segs []segment
	size int64
	off  int64
}

func (c *concat) Read(p []byte) (int, error) {
	start := int64(0)
	for _, s := range c.segs {
		if c.off < start+s.size {
			if _, err := s.r.Seek(c.off-start, io.SeekStart); err != nil {
				return 0, err
			}
			n, err := s.r.Read(p[:min(int64(len(p)), start+s.size-c.off)])
			c.off += int64(n)
			if errors.Is(err, io.EOF) {
				if n == 0 {
					return 0, io.ErrUnexpectedEOF // a part shorter than its size
				}
				err = nil
			}
			return n, err
		}
		start += s.size
	}
	return 0, io.EOF
}

func (c *concat) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.size
	}
	if offset < 0 {
		return 0, errors.New("wire: negative position")
	}
	c.off = offset
	return offset, nil
}

// Close makes the body an io.ReadCloser that net/http keeps as it is (and
// retryablehttp then rewinds by seeking); the segments are the caller's.
func (c *concat) Close() error { return nil }

// FileUpload opens f and lays it out as a multipart body (see Multipart):
// the small parts first, then file, whose Content and Size are f's. The
// caller calls done once the request has been sent, which closes a
// reader that is also an io.Closer (see connectors.File). A body that
// cannot be laid out is a permanent failure: retrying cannot help.
func FileUpload(ctx context.Context, f *connectors.File, file Part, fields ...Part) (raw *Raw, done func(), err error) {
	content, err := f.Open(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the file: %w", err)
	}
	done = func() {}
	if c, ok := content.(io.Closer); ok {
		done = func() { _ = c.Close() }
	}
	file.Content, file.Size = content, f.Size
	raw, err = Multipart(append(fields, file)...)
	if err != nil {
		done()
		return nil, nil, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("multipart body: %w", err))
	}
	return raw, done, nil
}
