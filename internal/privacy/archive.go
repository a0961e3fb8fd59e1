package privacy

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Archive is an export being written: a zip of one JSON file per part
// and the person's files.
type Archive struct {
	buf   bytes.Buffer
	zw    *zip.Writer
	at    time.Time
	names []string
}

func newArchive(at time.Time) *Archive {
	a := &Archive{at: at}
	a.zw = zip.NewWriter(&a.buf)
	return a
}

// Add writes one entry from r.
func (a *Archive) Add(name string, r io.Reader) error {
	w, err := a.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.at})
	if err != nil {
		return fmt.Errorf("privacy: archive %s: %w", name, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("privacy: archive %s: %w", name, err)
	}
	a.names = append(a.names, name)
	return nil
}

// JSON writes v, indented, as one entry.
func (a *Archive) JSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("privacy: archive %s: %w", name, err)
	}
	return a.Add(name, bytes.NewReader(append(b, '\n')))
}

// Close finishes the zip and returns its bytes.
func (a *Archive) Close() ([]byte, error) {
	if err := a.zw.Close(); err != nil {
		return nil, fmt.Errorf("privacy: archive: %w", err)
	}
	return a.buf.Bytes(), nil
}
