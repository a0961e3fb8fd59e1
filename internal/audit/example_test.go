package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/audit"
)

func ExampleRedact() {
	before := map[string]any{"email": "ann@example.com", "password": "hunter2",
		"connection": map[string]any{"client_secret": "s3cr3t", "realm": "123"}}
	b, _ := json.Marshal(audit.Redact(before, "password", "client_secret"))
	fmt.Println(string(b))
	// Output: {"connection":{"client_secret":"[REDACTED]","realm":"123"},"email":"ann@example.com","password":"[REDACTED]"}
}

// A handler records the change in the transaction that makes it: the
// audit row and the change commit together (a sealer links the row into
// the tenant's chain after the commit).
func ExampleRecord() {
	var (
		pool   *pgxpool.Pool
		r      *http.Request
		tenant int64
		userID string
	)
	ctx := context.Background()
	_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// ... insert the case and its write-back job on tx ...
		return audit.Record(ctx, tx, audit.Event{
			TenantID: tenant, Actor: audit.UserActor(userID), AccountID: "001ACME",
			Action: "case.create", Object: "case", ObjectID: "42",
			After: map[string]any{"subject": "Pump leaks", "priority": "high"},
		}.WithRequest(r))
	})
}
