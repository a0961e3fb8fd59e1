package files

import (
	"errors"
	"hash"
	"io"
	"sync"
)

// hashAhead reads an upload in its own goroutine, hashing what it reads,
// while the store writes what was read before: on two cores the socket
// read and SHA-256 of one piece overlap the write (and a file store's
// sync) of the one before, where io.TeeReader made them take turns.
// Pieces go through a few buffers that are reused, so an upload holds at
// most hashAheadPieces*hashAheadPiece bytes.
type hashAhead struct {
	full  chan []byte
	free  chan []byte
	stop  chan struct{}
	done  sync.WaitGroup
	piece []byte // the piece being read, whole
	cur   []byte // what of it is not read yet
	err   error  // the source's error or io.EOF, once full is closed
	final error
}

const (
	hashAheadPiece  = 256 << 10
	hashAheadPieces = 4
)

// newHashAhead starts reading r, hashing into h. Close must be called
// (it waits for the goroutine) before r or h are looked at.
func newHashAhead(r io.Reader, h hash.Hash) *hashAhead {
	ra := &hashAhead{full: make(chan []byte, hashAheadPieces), free: make(chan []byte, hashAheadPieces), stop: make(chan struct{})}
	for range hashAheadPieces {
		ra.free <- make([]byte, hashAheadPiece)
	}
	ra.done.Add(1)
	go ra.run(r, h)
	return ra
}

func (ra *hashAhead) run(r io.Reader, h hash.Hash) {
	defer ra.done.Done()
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(r, buf[:cap(buf)])
		if n > 0 {
			h.Write(buf[:n])
			select {
			case ra.full <- buf[:n]:
			case <-ra.stop:
				return
			}
		}
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			ra.final = io.EOF
			return
		case err != nil:
			ra.final = err
			return
		}
	}
}

// next makes the next piece current once the current one is used up;
// false at the end (ra.err says why: io.EOF or the source's error).
func (ra *hashAhead) next() bool {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return false
		}
		if ra.piece != nil {
			ra.free <- ra.piece[:cap(ra.piece)]
			ra.piece = nil
		}
		buf, ok := <-ra.full
		if !ok {
			ra.done.Wait() // final is written before full is closed
			ra.err = ra.final
			continue
		}
		ra.piece, ra.cur = buf, buf
	}
	return true
}

// Read implements io.Reader.
func (ra *hashAhead) Read(p []byte) (int, error) {
	if !ra.next() {
		return 0, ra.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: whole pieces go to w without a copy
// through the caller's buffer.
func (ra *hashAhead) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for ra.next() {
		n, err := w.Write(ra.cur)
		total += int64(n)
		ra.cur = ra.cur[n:]
		if err != nil {
			return total, err
		}
	}
	if errors.Is(ra.err, io.EOF) {
		return total, nil
	}
	return total, ra.err
}

// Close stops reading ahead and waits for the goroutine: afterwards the
// source and the hash may be looked at.
func (ra *hashAhead) Close() {
	close(ra.stop)
	ra.done.Wait()
}
