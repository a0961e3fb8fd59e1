package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// A file's content streamed in and out of file_chunk. Hand-written beside
// queries/file.sql because sqlc's :copyfrom and :many hold every row in
// memory (a whole file), where these hold one chunk: COPY is fed chunk by
// chunk as the upload arrives, and the read hands each row to its caller
// as it comes off the connection.

// FileChunkCopy writes a file's chunks n = from, from+1, ... with one COPY: next
// returns each chunk's data (the slice may be reused once next is called
// again) until it returns nil data and a nil error; an error from next
// aborts the COPY and is returned as it is. On a db without CopyFrom (a
// Pipeline) the chunks are inserted one by one. It returns the chunks
// written.
func FileChunkCopy(ctx context.Context, db DBTX, fileID int64, from int32, next func() ([]byte, error)) (int64, error) {
	cf, ok := db.(CopyFromer)
	if !ok {
		n := from
		for {
			data, err := next()
			if err != nil || data == nil {
				return int64(n - from), err
			}
			if err := FileChunkInsert(ctx, db, FileChunkInsertParams{FileID: fileID, N: n, Data: data}); err != nil {
				return int64(n - from), err
			}
			n++
		}
	}
	src := &chunkSource{fileID: fileID, next: next, n: from - 1}
	n, err := cf.CopyFrom(ctx, pgx.Identifier{"file_chunk"}, []string{"file_id", "n", "data"}, src)
	if src.err != nil {
		return n, src.err
	}
	return n, interpretError(err)
}

type chunkSource struct {
	fileID int64
	next   func() ([]byte, error)
	n      int32
	data   []byte
	err    error
}

func (s *chunkSource) Next() bool {
	s.data, s.err = s.next()
	if s.err != nil || s.data == nil {
		return false
	}
	s.n++
	return true
}

func (s *chunkSource) Values() ([]any, error) { return []any{s.fileID, s.n, s.data}, nil }

func (s *chunkSource) Err() error { return s.err }

// FileChunkEach reads a file's chunks from..to-1, in order, with one
// query, and calls fn with each (data is valid only during the call);
// an error from fn stops the read and is returned.
func FileChunkEach(ctx context.Context, db DBTX, fileID int64, from, to int32, fn func(n int32, data []byte) error) error {
	rows, err := db.Query(ctx, `SELECT n, data FROM file_chunk WHERE file_id = $1 AND n >= $2 AND n < $3 ORDER BY n`, fileID, from, to)
	if err != nil {
		return interpret(err, "file chunks")
	}
	defer rows.Close()
	for rows.Next() {
		var n int32
		var data []byte
		if rows.FieldDescriptions()[1].Format == pgx.BinaryFormatCode {
			// Binary bytea is the bytes themselves: hand them on as
			// received rather than copy each chunk.
			if err := rows.Scan(&n, nil); err != nil {
				return interpret(err, "file chunks")
			}
			data = rows.RawValues()[1]
		} else if err := rows.Scan(&n, &data); err != nil {
			return interpret(err, "file chunks")
		}
		if err := fn(n, data); err != nil {
			return err
		}
	}
	return interpret(rows.Err(), "file chunks")
}
