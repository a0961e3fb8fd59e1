package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

func benchRows(n, offset int) []store.Row {
	rows := make([]store.Row, n)
	body := strings.Repeat("x", 600)
	for i := range rows {
		id := fmt.Sprintf("500%015d", offset+i)
		rows[i] = store.Row{
			SourceID: id, OwnerAccount: fmt.Sprintf("001%03d", i%500), Status: "working", Version: "v1",
			Data:     json.RawMessage(fmt.Sprintf(`{"fields":{"id":%q,"subject":"s","description":%q,"status":"working"}}`, id, body)),
			Raw:      json.RawMessage(fmt.Sprintf(`{"Id":%q,"Subject":"s","Description":%q,"Status":"Working"}`, id, body)),
			Modified: time.Now(),
		}
	}
	return rows
}

// BenchmarkUpsertVsCopy compares the sync's page upsert with a raw
// CopyFrom of the same rows into the same table.
func BenchmarkUpsertVsCopy(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Pool(b)
	const page = 2000
	offset := 0
	next := func() int { offset += page; return offset }
	b.Run("upsert", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := store.UpsertRows(ctx, pool, casePage(), benchRows(page, next())); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("copy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows := benchRows(page, next())
			src := make([][]any, len(rows))
			for j, r := range rows {
				src[j] = []any{int64(1), "crm", "case", r.SourceID, "Case", r.OwnerAccount, r.Status, string(r.Data), string(r.Raw), r.Version, r.Modified, "h1"}
			}
			if _, err := pool.CopyFrom(ctx, pgx.Identifier{"record"}, []string{"tenant_id", "connection", "object", "source_id", "source_object", "owner_account", "status", "data", "raw", "source_version", "source_modified", "mapping_hash"}, pgx.CopyFromRows(src)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "rows/s")
	})
}
