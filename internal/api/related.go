package api

import (
	"context"
	"fmt"
	"strconv"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// maxRelated bounds the related records one answer embeds (a case's
// comments, an invoice's payments).
const maxRelated = 200

// related reads the records of obj under scope that f selects (a case's
// comments, an invoice's payments, a knowledge search), through the
// records reader.
func (a *API) related(ctx context.Context, obj *mapping.Object, scope access.Scope, f store.RecordFilter) ([]Record, error) {
	found, err := a.d.Records.Related(ctx, scope, obj.Name(), f)
	if err != nil {
		return nil, fmt.Errorf("api: reading %s: %w", obj.Name(), err)
	}
	out := make([]Record, len(found))
	for i, rec := range found {
		out[i] = view(rec)
	}
	return out, nil
}
