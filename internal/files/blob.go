package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/porticohq/portico/internal/store"
)

// Blobs keeps file content. Write runs in the upload's transaction (db),
// so that the content commits with the file's row or not at all; Open
// reads it back for seeking (a download's Range requests).
type Blobs interface {
	Write(ctx context.Context, db store.DBTX, f File, r io.Reader) (int64, error)
	Open(ctx context.Context, f File) (io.ReadSeeker, error)
}

// ChunkSize is the size of one stored piece of content: 8000 bytes, so
// that a row of file_chunk fits a heap page and is stored inline
// (STORAGE PLAIN, migration 113). 1 MiB values were cut again by TOAST
// into ~2 KB rows with an index entry each, which took about twice as
// long to insert; see the migration for the figures.
const ChunkSize = 8000

// ReadWindow is how many chunks one read-ahead query reads (about 2 MB):
// a read abandoned mid-way (a Range, a seek, a client gone) leaves at
// most this many for the query to finish, and the pool connection is
// held only for one window at a time.
const ReadWindow = 256

// readBuffered is how many chunks a read-ahead holds ready beyond the one
// being read: enough to keep the query's rows flowing while the client
// takes the last ones (at most 64 chunks, 512 KB, per download).
const readBuffered = 64

// PGBlobs keeps content in PostgreSQL's file_chunk table.
type PGBlobs struct {
	// DB reads the content back (a pool).
	DB store.DBTX
}

// Write implements Blobs: the reader's content in ChunkSize rows sent
// with one COPY as it arrives, one buffer reused, so an upload holds at
// most one chunk in memory (and pgx's copy buffer). One COPY instead of a
// round trip per chunk lets PostgreSQL store a chunk while the next one
// is read from the client.
func (b PGBlobs) Write(ctx context.Context, db store.DBTX, f File, r io.Reader) (int64, error) {
	buf := make([]byte, ChunkSize)
	var total int64
	var readErr error
	_, err := store.FileChunkCopy(ctx, db, f.ID, 0, func() ([]byte, error) {
		if readErr != nil {
			return nil, nil
		}
		k, err := io.ReadFull(r, buf)
		total += int64(k)
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			readErr = io.EOF
		case err != nil:
			return nil, err
		}
		if k == 0 {
			return nil, nil
		}
		return buf[:k], nil
	})
	if err != nil {
		return total, fmt.Errorf("files: storing the content: %w", err)
	}
	return total, nil
}

// eachPiece reads r to its end in pieces of size bytes (the last one
// shorter) through one buffer, handing each to fn; it returns the bytes
// fn took. fn must not keep the slice.
func eachPiece(r io.Reader, size int, fn func([]byte) error) (int64, error) {
	buf := make([]byte, size)
	var total int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if err := fn(buf[:k]); err != nil {
				return total, err
			}
			total += int64(k)
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Open implements Blobs. The reader implements io.Closer: Close stops
// its read-ahead (it also stops with ctx, and at the end of the file).
func (b PGBlobs) Open(ctx context.Context, f File) (io.ReadSeeker, error) {
	return &chunkReader{ctx: ctx, db: b.DB, id: f.ID, size: f.Size, cur: -1}, nil
}

// chunkReader reads a file's chunks in order from where it is read,
// window by window (ReadWindow), one query each, with the next chunks
// fetched in the background while the current one is read (at most
// readBuffered+2 chunk buffers):
// a download streams rather than wait for a round trip per chunk, and a
// Range request reads only from the chunks it covers. A seek elsewhere
// starts a new read-ahead at the chunk it lands in.
type chunkReader struct {
	ctx  context.Context
	db   store.DBTX
	id   int64
	size int64
	off  int64
	cur  int64 // the chunk held in data, -1 for none
	data []byte
	ra   *readAhead
}

// readAhead is the background read of chunks next, next+1, ... to the end.
type readAhead struct {
	next   int64
	chunks chan chunk    // the chunks read, in order; closed at the end
	free   chan []byte   // buffers handed back for reuse
	stop   chan struct{} // closed to abandon the read
}

type chunk struct {
	n    int64
	data []byte
	err  error
}

var errStopped = errors.New("files: read-ahead stopped")

func (c *chunkReader) startReadAhead(from int64) *readAhead {
	ra := &readAhead{next: from, chunks: make(chan chunk, readBuffered), free: make(chan []byte, readBuffered+2), stop: make(chan struct{})}
	last := (c.size - 1) / ChunkSize
	go func() {
		defer close(ra.chunks)
		for start := from; start <= last; start += ReadWindow {
			err := store.FileChunkEach(c.ctx, c.db, c.id, int32(start), int32(min(start+ReadWindow, last+1)), func(n int32, data []byte) error {
				var buf []byte
				select {
				case buf = <-ra.free:
				default:
				}
				buf = append(buf[:0], data...)
				select {
				case ra.chunks <- chunk{n: int64(n), data: buf}:
					return nil
				case <-ra.stop:
					return errStopped
				case <-c.ctx.Done():
					return c.ctx.Err()
				}
			})
			if errors.Is(err, errStopped) {
				return
			}
			if err != nil {
				select {
				case ra.chunks <- chunk{err: err}:
				case <-ra.stop:
				case <-c.ctx.Done():
				}
				return
			}
		}
	}()
	return ra
}

// Read fills p from as many chunks as it spans (a chunk is smaller than
// the copy buffers of net/http and io.Copy), or to the end of the file.
func (c *chunkReader) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	total := 0
	for total < len(p) && c.off < c.size {
		k, err := c.readChunk(p[total:])
		total += k
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readChunk copies into p from the chunk that holds the offset, reading
// it first.
func (c *chunkReader) readChunk(p []byte) (int, error) {
	n := c.off / ChunkSize
	if n != c.cur {
		if c.ra == nil || c.ra.next != n {
			c.stopReadAhead()
			c.ra = c.startReadAhead(n)
		}
		got, ok := <-c.ra.chunks
		switch {
		case !ok || (got.err == nil && got.n != n):
			return 0, fmt.Errorf("files: reading chunk %d of file %d: %w", n, c.id, io.ErrUnexpectedEOF)
		case got.err != nil:
			return 0, fmt.Errorf("files: reading chunk %d of file %d: %w", n, c.id, got.err)
		}
		if c.data != nil {
			select {
			case c.ra.free <- c.data:
			default:
			}
		}
		c.ra.next = n + 1
		c.cur, c.data = n, got.data
	}
	k := copy(p, c.data[c.off-n*ChunkSize:])
	if k == 0 {
		return 0, io.ErrUnexpectedEOF // a chunk shorter than the recorded size
	}
	c.off += int64(k)
	return k, nil
}

func (c *chunkReader) stopReadAhead() {
	if c.ra != nil {
		close(c.ra.stop)
		c.ra = nil
	}
}

// Close stops the read-ahead.
func (c *chunkReader) Close() error {
	c.stopReadAhead()
	return nil
}

func (c *chunkReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.size
	default:
		return 0, errors.New("files: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("files: negative position")
	}
	c.off = offset
	return offset, nil
}
