package inventory

import (
	"errors"

	"github.com/porticohq/portico/connectors"
)

func isNotFound(err error) bool { return errors.Is(err, connectors.ErrNotFound) }

func asConflict(err error) (*connectors.ConflictError, bool) {
	var ce *connectors.ConflictError
	ok := errors.As(err, &ce)
	return ce, ok
}
