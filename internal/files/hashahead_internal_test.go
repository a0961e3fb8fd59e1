package files

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// The read-ahead gives the source's bytes in order, however they are
// read (whole pieces to a writer, or a few bytes at a time), hashes all
// of them, passes the source's error on, and lets go when the reader
// stops early.
func TestHashAheadKeepsTheBytesAndTheirHash(t *testing.T) {
	t.Parallel()
	content := make([]byte, 5*hashAheadPiece+12345)
	_, _ = rand.Read(content)
	want := sha256.Sum256(content)

	for name, read := range map[string]func(io.Reader) ([]byte, error){
		"writer":    func(r io.Reader) ([]byte, error) { var b bytes.Buffer; _, err := io.Copy(&b, r); return b.Bytes(), err },
		"odd reads": func(r io.Reader) ([]byte, error) { return io.ReadAll(iotest.OneByteReader(io.LimitReader(r, 1<<30))) },
		"small buffer": func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			_, err := io.CopyBuffer(&b, struct{ io.Reader }{r}, make([]byte, 1000))
			return b.Bytes(), err
		},
	} {
		h := sha256.New()
		ra := newHashAhead(bytes.NewReader(content), h)
		got, err := read(ra)
		ra.Close()
		require.NoError(t, err, name)
		require.True(t, bytes.Equal(content, got), name)
		require.Equal(t, want[:], h.Sum(nil), name)
	}

	broken := errors.New("connection reset")
	ra := newHashAhead(io.MultiReader(bytes.NewReader(content[:hashAheadPiece+10]), iotest.ErrReader(broken)), sha256.New())
	_, err := io.Copy(io.Discard, ra)
	ra.Close()
	require.ErrorIs(t, err, broken)

	// Stopped after one piece, with more to read: Close returns.
	ra = newHashAhead(bytes.NewReader(content), sha256.New())
	_, err = io.ReadFull(ra, make([]byte, 10))
	require.NoError(t, err)
	ra.Close()
}
