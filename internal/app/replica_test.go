package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgcluster"
	"github.com/porticohq/portico/internal/replica"
	"github.com/porticohq/portico/mappings"
)

// replicated is a primary and its streaming replica, private clusters of
// the test's own, with Portico's database migrated.
type replicated struct {
	primary, replica       *pgcluster.Cluster
	primaryURL, replicaURL string
	primaryDB, replicaDB   *pgxpool.Pool
}

func startReplicated(t *testing.T) *replicated {
	t.Helper()
	if _, err := pgcluster.FindBinaries(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	// The servers run as postgres when we are root: not under t.TempDir.
	dir, err := os.MkdirTemp("", "portico-replica-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	primary, err := pgcluster.Start(ctx, filepath.Join(dir, "primary"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = primary.Stop() })
	conn, err := pgx.Connect(ctx, primary.URL("postgres"))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE DATABASE portico")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	r := &replicated{primary: primary, primaryURL: primary.URL("portico")}
	r.primaryDB, err = pgxpool.New(ctx, r.primaryURL)
	require.NoError(t, err)
	t.Cleanup(r.primaryDB.Close)
	_, err = migrate.Up(ctx, r.primaryDB, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r.replica, err = pgcluster.StartReplica(ctx, primary, filepath.Join(dir, "replica"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.replica.Stop() })
	r.replicaURL = r.replica.URL("portico")
	r.replicaDB, err = pgxpool.New(ctx, r.replicaURL)
	require.NoError(t, err)
	t.Cleanup(r.replicaDB.Close)
	return r
}

// caughtUp waits until the replica has replayed everything the primary
// had written when it was called.
func (r *replicated) caughtUp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var target string
	require.NoError(t, r.primaryDB.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target))
	require.Eventually(t, func() bool {
		var done bool
		err := r.replicaDB.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, target).Scan(&done)
		return err == nil && done
	}, 20*time.Second, 10*time.Millisecond, "the replica replays up to %s", target)
}

func (r *replicated) pauseReplay(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	_, err := r.replicaDB.Exec(ctx, `SELECT pg_wal_replay_pause()`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var state string
		err := r.replicaDB.QueryRow(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state)
		return err == nil && state == "paused"
	}, 10*time.Second, 10*time.Millisecond)
}

// caseRead is what GET /api/v1/cases/{id} says of a case.
type caseRead struct {
	status  int
	subject string
	synced  time.Time
}

func (s *staff) readCase(api, id string) caseRead {
	s.t.Helper()
	resp, err := s.client.Get(api + "/api/v1/cases/" + id)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var body struct {
		Fields struct {
			Subject string `json:"subject"`
		} `json:"fields"`
		Freshness struct {
			SyncedAt time.Time `json:"synced_at"`
		} `json:"freshness"`
	}
	if resp.StatusCode == http.StatusOK {
		require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&body))
	}
	return caseRead{status: resp.StatusCode, subject: body.Fields.Subject, synced: body.Freshness.SyncedAt}
}

// metric is a sample's value on api's /metrics, -1 when it is not there.
func metric(t *testing.T, api, sample string) float64 {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return v
}

// A serve process with database.read_url reads lists and details from the
// streaming replica (its lag paused, it shows the older subject and the
// older synced_at of the row, and row-level security still hides another
// account's case), a session reads from the primary right after its own
// write, every read falls back to the primary once the lag passes
// database.max_replica_lag, and the lag is on /metrics.
func TestReadsGoToTheReplicaExceptAfterOwnWritesAndWhileItLags(t *testing.T) {
	t.Parallel()
	pair := startReplicated(t)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	r := startWith(t, world{interval: time.Hour, mappings: set, databaseURL: pair.primaryURL}, func(cfg *config.Config) {
		cfg.Database.ReadURL = pair.replicaURL
		cfg.Database.MaxReplicaLag = time.Hour // part one: the replica is always good enough
	})
	ctx := context.Background()
	var caseID, account, foreign string
	require.NoError(t, pair.primaryDB.QueryRow(ctx, `SELECT source_id, owner_account FROM record
		WHERE object = 'case' AND coalesce(owner_account, '') <> '' ORDER BY source_id LIMIT 1`).Scan(&caseID, &account))
	require.NoError(t, pair.primaryDB.QueryRow(ctx, `SELECT source_id FROM record
		WHERE object = 'case' AND owner_account <> $1 ORDER BY source_id LIMIT 1`, account).Scan(&foreign))
	_, err = auth.CreateUser(ctx, pair.primaryDB, auth.NewUser{Email: "member@acme.test", Password: staffPassword, AccountID: account, Roles: []string{"member"}})
	require.NoError(t, err)
	writer := logIn(t, r.api, "member@acme.test", staffPassword)
	reader := logIn(t, r.api, "member@acme.test", staffPassword)

	// Replay stops; the primary changes the case. The case is read as the
	// paused replica holds it: read before the pause, a refresh its own
	// staleness scheduled could still move its synced_at on both.
	pair.caughtUp(t)
	pair.pauseReplay(t)
	before := reader.readCase(r.api, caseID)
	require.Equal(t, http.StatusOK, before.status)
	_, err = pair.primaryDB.Exec(ctx, `UPDATE record SET data = jsonb_set(data, '{fields,subject}', '"Changed on the primary"'),
		synced_at = now() + interval '1 minute' WHERE object = 'case' AND source_id = $1`, caseID)
	require.NoError(t, err)

	// Reads go to the replica: the old subject, and the old row's synced_at.
	got := reader.readCase(r.api, caseID)
	require.Equal(t, before, got, "a read from the replica")
	require.Equal(t, http.StatusNotFound, reader.readCase(r.api, foreign).status, "row-level security and the scope hold on the replica")
	require.Greater(t, metric(t, r.api, `portico_replica_reads_total{pool="replica",reason="replica"}`), 0.0)
	require.Eventually(t, func() bool { return metric(t, r.api, "portico_replica_lag_bytes") > 0 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return metric(t, r.api, "portico_replica_lag_seconds") > 0 }, 10*time.Second, 20*time.Millisecond)

	// The writer's own write sends its next reads to the primary, which
	// has the change; the other session still reads the replica.
	resp := writer.post("/api/v1/cases", map[string]string{"subject": "Opened while the replica lags"})
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Set-Cookie"), replica.CookieName+"=")
	require.Equal(t, "Changed on the primary", writer.readCase(r.api, caseID).subject, "read-your-writes: the primary")
	require.Greater(t, metric(t, r.api, `portico_replica_reads_total{pool="primary",reason="session"}`), 0.0)
	require.Equal(t, before, reader.readCase(r.api, caseID), "another session still reads the replica")

	// A process whose maximum lag is 200ms falls back to the primary for
	// everyone once the paused replica is that far behind.
	strict := openPortal(t, pair.primaryURL, app.Mode{Serve: true}, slog.New(slog.DiscardHandler), app.Deps{}, func(cfg *config.Config) {
		cfg.Database.ReadURL = pair.replicaURL
		cfg.Database.MaxReplicaLag = 200 * time.Millisecond
	})
	require.Eventually(t, func() bool { return metric(t, strict.URL, "portico_replica_lag_seconds") > 0.2 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 0.0, metric(t, strict.URL, "portico_replica_in_use"))
	require.Equal(t, "Changed on the primary", reader.readCase(strict.URL, caseID).subject, "the fallback to the primary")
	require.Greater(t, metric(t, strict.URL, `portico_replica_reads_total{pool="primary",reason="lag"}`), 0.0)

	// Replay resumes: the replica catches up and serves the change.
	_, err = pair.replicaDB.Exec(ctx, `SELECT pg_wal_replay_resume()`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return reader.readCase(strict.URL, caseID).subject == "Changed on the primary" && metric(t, strict.URL, "portico_replica_in_use") == 1
	}, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return reader.readCase(r.api, caseID).subject == "Changed on the primary" }, 20*time.Second, 20*time.Millisecond)
}
