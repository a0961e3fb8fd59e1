package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/porticohq/portico/internal/store"
)

// Storage keys of a resumable upload's tus info: who began it, and the
// record its file is for. The API's create hook sets them; TusStore keeps
// them in the upload's row and its pending file's.
const (
	TusTenant     = "tenant_id"
	TusUser       = "user_id"
	TusConnection = "connection"
	TusObject     = "object"  // the parent record's portal object
	TusRecord     = "record"  // the parent record's source id
	TusOwner      = "account" // the account that owns the record
	TusFileName   = "filename"
)

// TusStore is tusd's data store for resumable uploads, in PostgreSQL
// (migrations 098, 119): an upload is a row of file_upload and a file row
// in state "scanning" (never listed, served or sent), and each PATCH body
// is appended to that file's chunks in parts of at most PartSize, each
// part its own transaction with the offset and the SHA-256 so far, one
// buffer reused: no upload is held in memory, any serve instance can take
// the next PATCH, and the content is written once. When the upload is
// complete, Service.Complete checks and scans those chunks as Store checks
// a plain upload, and the file is finished in place or deleted.
type TusStore struct {
	Pool DB
}

// UseIn puts the store into a tusd composer (core and termination).
func (s TusStore) UseIn(c *tusd.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
}

// NewUpload implements tusd.DataStore: the upload's row and its pending
// file's, in one transaction.
func (s TusStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	tenant, err1 := strconv.ParseInt(info.Storage[TusTenant], 10, 64)
	user, err2 := strconv.ParseInt(info.Storage[TusUser], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("files: a resumable upload without its tenant and user: %w", err)
	}
	if info.ID == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		info.ID = hex.EncodeToString(b)
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		f, err := store.FileInsert(ctx, tx, store.FileInsertParams{
			TenantID: tenant, StorageKey: newKey(), Connection: info.Storage[TusConnection], Object: info.Storage[TusObject],
			RecordID: info.Storage[TusRecord], OwnerAccount: info.Storage[TusOwner], UploadedBy: info.Storage[TusUser],
			FileName: info.MetaData[TusFileName], ContentType: "application/octet-stream", Origin: origin(false),
		})
		if err != nil {
			return err
		}
		return store.FileUploadInsert(ctx, tx, store.FileUploadInsertParams{
			ID: info.ID, TenantID: tenant, UserID: user, Size: info.Size, Info: raw, FileID: f.ID,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("files: creating a resumable upload: %w", err)
	}
	return &tusUpload{pool: s.Pool, id: info.ID}, nil
}

// GetUpload implements tusd.DataStore.
func (s TusStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	if _, err := store.FileUploadGet(ctx, s.Pool, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, tusd.ErrNotFound
		}
		return nil, fmt.Errorf("files: %w", err)
	}
	return &tusUpload{pool: s.Pool, id: id}, nil
}

// AsTerminatableUpload implements tusd.TerminaterDataStore.
func (s TusStore) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	return u.(*tusUpload)
}

// Owner returns the tenant and user who began an upload;
// store.ErrNotFound for none.
func (s TusStore) Owner(ctx context.Context, id string) (tenant, user int64, err error) {
	row, err := store.FileUploadGet(ctx, s.Pool, id)
	if err != nil {
		return 0, 0, err
	}
	return row.TenantID, row.UserID, nil
}

// Expire deletes the uploads that have not moved since before, with their
// pending files and content: an abandoned upload leaves nothing. It
// returns how many it deleted.
func (s TusStore) Expire(ctx context.Context, before time.Time) (int64, error) {
	n, err := store.FileUploadExpire(ctx, s.Pool, pgtype.Timestamptz{Time: before, Valid: true})
	if err != nil {
		return 0, fmt.Errorf("files: expiring resumable uploads: %w", err)
	}
	return n, nil
}

// Sweep expires uploads untouched for ttl, every interval, until ctx ends.
func (s TusStore) Sweep(ctx context.Context, ttl, interval time.Duration, logf func(n int64, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Expire(ctx, time.Now().Add(-ttl))
		if n > 0 || err != nil {
			logf(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type tusUpload struct {
	pool DB
	id   string
}

// PartSize bounds one stored part of a resumable upload: 128 chunks
// (1,024,000 bytes), each part its own transaction (see WriteChunk), so
// kept large, and a whole number of chunks, so that the parts after the
// first of a PATCH begin at a chunk's start.
const PartSize = 128 * ChunkSize

// WriteChunk implements tusd.Upload: src in parts of at most PartSize,
// each committed with the offset it moves, so an interrupted PATCH keeps
// what arrived and the client resumes from there.
func (u *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	var written int64
	return eachPiece(src, PartSize, func(data []byte) error {
		if err := u.writePart(ctx, offset+written, data); err != nil {
			return err
		}
		written += int64(len(data))
		return nil
	})
}

// errOffsetMoved is a part written by a second writer of the same upload.
var errOffsetMoved = tusd.NewError("ERR_MISMATCHED_OFFSET", "the upload's offset moved while this part was written", http.StatusConflict)

// writePart appends data at start to the pending file's chunks: first to
// the chunk the previous part left short, then as new chunks with one
// COPY, with the hash of everything so far; the upload's row is locked
// meanwhile, so a second writer of the same upload waits and then finds
// the offset moved.
func (u *tusUpload) writePart(ctx context.Context, start int64, data []byte) error {
	return pgx.BeginFunc(ctx, u.pool, func(tx pgx.Tx) error {
		row, err := store.FileUploadLock(ctx, tx, u.id)
		if errors.Is(err, store.ErrNotFound) {
			return tusd.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("files: %w", err)
		}
		if row.Offset != start {
			return errOffsetMoved
		}
		h, err := resumeHash(row.HashState)
		if err != nil {
			return fmt.Errorf("files: upload %s: %w", u.id, err)
		}
		h.Write(data)
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return fmt.Errorf("files: upload %s: %w", u.id, err)
		}
		rest := data
		if gap := start % ChunkSize; gap != 0 {
			k := min(len(rest), int(ChunkSize-gap))
			if _, err := store.FileChunkAppend(ctx, tx, store.FileChunkAppendParams{FileID: row.FileID, N: int32(start / ChunkSize), Data: rest[:k]}); err != nil {
				return fmt.Errorf("files: storing a part of upload %s: %w", u.id, err)
			}
			rest = rest[k:]
		}
		if len(rest) > 0 {
			from := int32((start + int64(len(data)-len(rest))) / ChunkSize)
			if _, err := store.FileChunkCopy(ctx, tx, row.FileID, from, func() ([]byte, error) {
				if len(rest) == 0 {
					return nil, nil
				}
				k := min(len(rest), ChunkSize)
				chunk := rest[:k]
				rest = rest[k:]
				return chunk, nil
			}); err != nil {
				return fmt.Errorf("files: storing a part of upload %s: %w", u.id, err)
			}
		}
		n, err := store.FileUploadAdvance(ctx, tx, store.FileUploadAdvanceParams{ID: u.id, Start: start, N: int64(len(data)), HashState: state})
		if err != nil {
			return fmt.Errorf("files: %w", err)
		}
		if n == 0 {
			return errOffsetMoved
		}
		return nil
	})
}

// resumeHash is the SHA-256 of an upload's bytes so far, from its kept
// state (none: no bytes yet).
func resumeHash(state []byte) (hash.Hash, error) {
	h := sha256.New()
	if len(state) == 0 {
		return h, nil
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("the kept hash: %w", err)
	}
	return h, nil
}

// GetInfo implements tusd.Upload.
func (u *tusUpload) GetInfo(ctx context.Context) (tusd.FileInfo, error) {
	row, err := store.FileUploadGet(ctx, u.pool, u.id)
	if errors.Is(err, store.ErrNotFound) {
		return tusd.FileInfo{}, tusd.ErrNotFound
	}
	if err != nil {
		return tusd.FileInfo{}, fmt.Errorf("files: %w", err)
	}
	var info tusd.FileInfo
	if err := json.Unmarshal(row.Info, &info); err != nil {
		return tusd.FileInfo{}, fmt.Errorf("files: upload %s: %w", u.id, err)
	}
	info.ID, info.Offset, info.Size = row.ID, row.Offset, row.Size
	return info, nil
}

// GetReader implements tusd.Upload: the bytes received so far (tusd reads
// them only for downloads and concatenation, which the API turns off).
func (u *tusUpload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	row, err := store.FileUploadGet(ctx, u.pool, u.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, tusd.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	return &chunkReader{ctx: ctx, db: u.pool, id: row.FileID, size: row.Offset, cur: -1}, nil
}

// FinishUpload implements tusd.Upload: nothing to do, the API's finish
// hook completes the file (Service.Complete).
func (u *tusUpload) FinishUpload(context.Context) error { return nil }

// Terminate implements tusd.TerminatableUpload: the upload goes, with its
// pending file and content unless it already became a file.
func (u *tusUpload) Terminate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, u.pool, func(tx pgx.Tx) error {
		if err := store.FileUploadDropPending(ctx, tx, u.id); err != nil {
			return err
		}
		return store.FileUploadDelete(ctx, tx, u.id)
	})
}
