package files

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Scanner checks content for malware. Scan reads r to its end (or until
// it fails) and returns the signature found, empty for clean content.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) (signature string, err error)
}

// ErrScanUnavailable is a scanner that could not give a verdict.
var ErrScanUnavailable = errors.New("files: malware scanner unavailable")

// Clamd scans through a clamd daemon's INSTREAM command.
type Clamd struct {
	// Network is "unix" or "tcp"; Address the socket path or host:port.
	Network, Address string
	// Timeout bounds a whole scan, the wait for the verdict included
	// (default 2m).
	Timeout time.Duration
}

// instreamChunk is the size of one INSTREAM chunk: clamd's default
// StreamMaxLength applies to the sum, not to a chunk.
const instreamChunk = 64 << 10

// Scan implements Scanner.
func (c Clamd) Scan(ctx context.Context, r io.Reader) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := stream(conn, r); err != nil {
		// clamd may have answered already and closed: a stream over its
		// StreamMaxLength is refused mid-way.
		if reply, rerr := readReply(conn); rerr == nil && reply != "" {
			return "", fmt.Errorf("%w: clamd: %s", ErrScanUnavailable, reply)
		}
		return "", err
	}
	reply, err := readReply(conn)
	if err != nil {
		return "", fmt.Errorf("%w: reading the verdict: %w", ErrScanUnavailable, err)
	}
	return verdict(reply)
}

// stream sends r as INSTREAM chunks and the terminating empty chunk.
// A failure to read r is returned as it is (the upload failed); a failure
// to write is the scanner's.
func stream(conn net.Conn, r io.Reader) error {
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return fmt.Errorf("%w: %w", ErrScanUnavailable, err)
	}
	buf := make([]byte, 4+instreamChunk)
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, err := conn.Write(buf[:4+n]); err != nil {
				return fmt.Errorf("%w: %w", ErrScanUnavailable, err)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if _, err := conn.Write([]byte{0, 0, 0, 0}); err != nil {
		return fmt.Errorf("%w: %w", ErrScanUnavailable, err)
	}
	return nil
}

// verdict reads clamd's answer: "stream: OK", "stream: NAME FOUND", or
// an error ("INSTREAM size limit exceeded. ERROR").
func verdict(reply string) (string, error) {
	body := strings.TrimPrefix(reply, "stream: ")
	switch {
	case body == "OK":
		return "", nil
	case strings.HasSuffix(body, " FOUND"):
		return strings.TrimSuffix(body, " FOUND"), nil
	}
	return "", fmt.Errorf("%w: clamd: %s", ErrScanUnavailable, reply)
}

// Ping asks clamd whether it is there (PONG).
func (c Clamd) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("%w: %w", ErrScanUnavailable, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return fmt.Errorf("%w: PING: %w", ErrScanUnavailable, err)
	}
	if reply != "PONG" {
		return fmt.Errorf("%w: PING answered %q", ErrScanUnavailable, reply)
	}
	return nil
}

func (c Clamd) dial(ctx context.Context) (net.Conn, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScanUnavailable, err)
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	return conn, nil
}

// readReply reads one NUL-terminated answer.
func readReply(conn net.Conn) (string, error) {
	s, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadString(0)
	if err != nil && s == "" {
		return "", err
	}
	return strings.TrimSpace(strings.TrimSuffix(s, "\x00")), nil
}
