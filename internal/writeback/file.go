package writeback

import (
	"context"
	"errors"
	"fmt"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/store"
)

// Files opens a stored file's content for the worker: the action names the
// file, and the connector streams it to the source (internal/files).
type Files interface {
	// ForAction returns the file of the tenant an action names, as a
	// write sends it, and whether it may be sent (false for a quarantined
	// file); store.ErrNotFound when there is none.
	ForAction(ctx context.Context, tenantID, fileID int64) (*connectors.File, bool, error)
}

// fileRefused is a file that must not reach the source.
type fileRefused struct{ msg string }

func (e *fileRefused) Error() string { return "writeback: " + e.msg }

// file returns what an attach_file sends with its write; nil for other
// kinds.
func (s *Service) file(ctx context.Context, a store.Action, input map[string]any) (*connectors.File, error) {
	id, err := fileRef(Kind(a.Kind), input)
	if err != nil || id == 0 {
		return nil, err
	}
	if s.opts.Files == nil {
		return nil, &fileRefused{"Files cannot be sent: this installation stores none."}
	}
	f, sendable, err := s.opts.Files.ForAction(ctx, a.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &fileRefused{"The file is no longer stored."}
	}
	if err != nil {
		return nil, fmt.Errorf("writeback: file %d: %w", id, err)
	}
	if !sendable {
		return nil, &fileRefused{"The file was quarantined by the malware scan and was not sent."}
	}
	return f, nil
}
