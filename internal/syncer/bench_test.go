package syncer_test

import (
	"context"
	"testing"

	"github.com/porticohq/portico/internal/fakesource"
)

// BenchmarkFullSyncCases measures ingest of Salesforce cases through the
// connector, the mapping and the cache upsert.
func BenchmarkFullSyncCases(b *testing.B) {
	ctx := context.Background()
	bb := setupB(b, fakesource.Options{Seed: 1, Records: 40000})
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		_, err := bb.pool.Exec(ctx, `DELETE FROM record; DELETE FROM sync_cursor`)
		if err != nil {
			b.Fatal(err)
		}
		res, err := bb.syncer.Full(ctx, "salesforce", "Case")
		if err != nil {
			b.Fatal(err)
		}
		n += res.Records
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
