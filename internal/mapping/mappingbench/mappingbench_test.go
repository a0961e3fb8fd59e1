package mappingbench_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping/mappingbench"
)

func TestRunReportsBothFigures(t *testing.T) {
	t.Parallel()
	r, err := mappingbench.Run(context.Background(), 50*time.Millisecond, 1, io.Discard)
	require.NoError(t, err)
	require.Positive(t, r.Records)
	require.Positive(t, r.BaselinePerSec)
	require.InDelta(t, r.PerSecond/r.BaselinePerSec, r.Ratio, 1e-9)
}

// BenchmarkCase maps the 20-field Case; records/s per core is 1/(ns/op).
func BenchmarkCase(b *testing.B) {
	o, err := mappingbench.Case()
	require.NoError(b, err)
	raw := []byte(mappingbench.CaseRecord)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := o.ToPortal(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkBaseline(b *testing.B) {
	raw := []byte(mappingbench.CaseRecord)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mappingbench.Baseline(raw, mappingbench.BaselinePaths); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
