package accounting

import (
	"context"
	_ "embed"

	"github.com/porticohq/portico/connectors"
)

//go:embed entities.txt
var schemaText string

// schemas are the built-in shapes of the objects this connector syncs:
// the source has no describe call.
var schemas = connectors.NewBuiltinSchemas(schemaText)

// Describe implements connectors.Describer with the connector's built-in
// copy of the vendor's published shapes (entities.txt).
func (c *Connector) Describe(ctx context.Context, object string) (*connectors.ObjectSchema, error) {
	return schemas.Describe(ctx, object)
}
