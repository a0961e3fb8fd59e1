package privacy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type bundle struct {
	pool *pgxpool.Pool
	fx   *apitest.Fixture
	user auth.User
}

// setup caches Alpha's account and a contact, Dora Danvers, and makes her
// a portal user.
func setup(t *testing.T) bundle {
	t.Helper()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	pool := dbtest.Pool(t)
	fx := &apitest.Fixture{T: t, Pool: pool, Set: set, IDs: map[string]map[string][]string{}}
	fx.Put("salesforce", "Account", apitest.Alpha, apitest.SFAccount(apitest.Alpha, "Alpha Ltd", ""))
	fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Dora", "Danvers"))
	u, err := auth.CreateUser(context.Background(), pool, auth.NewUser{Email: "dora@example.test", Password: "plum-lantern-orchard-42",
		AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:], Roles: []string{"member"}})
	require.NoError(t, err)
	return bundle{pool: pool, fx: fx, user: u}
}

func service(b bundle, conns map[string]connectors.Connector, parts ...privacy.Part) *privacy.Service {
	reg := &privacy.Registry{}
	reg.MustRegister(privacy.Builtin(files.New(files.Options{Pool: b.pool}))...)
	reg.MustRegister(parts...)
	return privacy.New(privacy.Options{Pool: b.pool, TenantID: 1, Registry: reg, Connectors: conns, Config: config.Default().Privacy,
		Insert: func(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
		}})
}

func TestRegistryRefusesBadAndDuplicateNames(t *testing.T) {
	t.Parallel()
	reg := &privacy.Registry{}
	require.NoError(t, reg.Register(privacy.Part{Name: "notifications"}))
	require.ErrorContains(t, reg.Register(privacy.Part{Name: "notifications"}), "registered twice")
	require.ErrorContains(t, reg.Register(privacy.Part{Name: "Bad Name"}), "lower-case")
	require.Len(t, reg.Parts(), 1)
}

// A subsystem's own part (a log of webhook deliveries, say) joins export, erasure,
// purge and the record of processing with one registration.
func TestAPluggedInPartJoinsEveryStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	var erased, purged []string
	part := privacy.Part{Name: "webhook_log", Holds: "webhook deliveries", Purpose: "telling people", Basis: "contract",
		Retention: privacy.KindNotifications,
		Export: func(_ context.Context, _ store.DBTX, s privacy.Subject, _ *privacy.Archive) (any, error) {
			return []string{"delivery for " + s.Email}, nil
		},
		Erase: func(_ context.Context, _ store.DBTX, s privacy.Subject, _ *privacy.Erasure) (int64, error) {
			erased = append(erased, s.Email)
			return 3, nil
		},
		Purge: func(_ context.Context, _ store.DBTX, before time.Time) (int64, error) {
			purged = append(purged, before.Format(time.DateOnly))
			return 0, nil
		},
	}
	svc := service(b, nil, part)
	zipped, err := svc.BuildFor(ctx, "dora@example.test", audit.StaffActor("cli"))
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	require.NoError(t, err)
	f, err := zr.Open("webhook_log.json")
	require.NoError(t, err)
	body, _ := io.ReadAll(f)
	require.Contains(t, string(body), "delivery for dora@example.test")

	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	_, err = svc.Purge(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []string{now.Add(-config.Default().Privacy.Retention.Notifications).Format(time.DateOnly)}, purged)

	var found bool
	for _, a := range privacy.Processing(svc.Registry(), config.Default().Privacy.Retention) {
		if a.Part == "webhook_log" {
			found = true
			require.Equal(t, "180 days (privacy.retention.notifications)", a.Retention)
		}
	}
	require.True(t, found)

	rep, err := svc.Erase(ctx, "dora@example.test", "asked by phone", audit.StaffActor("cli"))
	require.NoError(t, err)
	require.Equal(t, []string{"dora@example.test"}, erased)
	require.EqualValues(t, 3, rep.Parts["webhook_log"])
}

// eraser is a connector whose source takes erasure requests (none of the
// shipped ones does).
type eraser struct {
	connectors.Connector
	asked []string
	fail  error
}

func (e *eraser) RequestErasure(_ context.Context, object, id string) (string, error) {
	e.asked = append(e.asked, object+"/"+id)
	return "GDPR-REQ-7", e.fail
}

func TestErasureAsksTheSourceWhereItCanAndLeavesATaskWhereNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	contact := "003" + apitest.Alpha[3:]

	b := setup(t)
	src := &eraser{}
	rep, err := service(b, map[string]connectors.Connector{"salesforce": src}).Erase(ctx, "dora@example.test", "letter of 2026-12-01", audit.StaffActor("7"))
	require.NoError(t, err)
	require.Equal(t, []string{"Contact/" + contact}, src.asked)
	require.Equal(t, []privacy.SourceRecord{{Connection: "salesforce", Object: "contact", SourceObject: "Contact", SourceID: contact,
		State: privacy.SourceRequested, Detail: "GDPR-REQ-7"}}, rep.Sources)

	b = setup(t)
	rep, err = service(b, map[string]connectors.Connector{"salesforce": &eraser{fail: errors.New("503 from the source")}}).
		Erase(ctx, "dora@example.test", "letter of 2026-12-01", audit.StaffActor("7"))
	require.NoError(t, err)
	require.Equal(t, privacy.SourceStaffTask, rep.Sources[0].State)
	require.Contains(t, rep.Sources[0].Detail, "503 from the source")
	var open int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM privacy_source_request WHERE state = 'staff_task'`).Scan(&open))
	require.Equal(t, 1, open)
}

func TestErasureRefusesBadInputAndChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	svc := service(b, nil)
	var bad *privacy.ErrInvalid
	_, err := svc.Erase(ctx, "dora@example.test", "  ", audit.StaffActor("7"))
	require.ErrorAs(t, err, &bad)
	require.Equal(t, "reason", bad.Field)
	_, err = svc.Erase(ctx, "not-an-address", "asked", audit.StaffActor("7"))
	require.ErrorAs(t, err, &bad)
	require.Equal(t, "email", bad.Field)
	_, err = svc.Erase(ctx, "nobody@example.test", "asked", audit.StaffActor("7"))
	require.ErrorIs(t, err, privacy.ErrNoSubject)
	var email string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT email FROM auth_user WHERE id = $1`, b.user.ID).Scan(&email))
	require.Equal(t, "dora@example.test", email)
	var erasures int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM privacy_erasure`).Scan(&erasures))
	require.Zero(t, erasures)
}

// The purge removes what is older than each kind's period and keeps the
// rest; a period of 0 keeps everything.
func TestPurgeFollowsTheRetentionPeriods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	now := time.Now()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := b.pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	for i, age := range []time.Duration{100 * 24 * time.Hour, time.Hour} {
		exec(`INSERT INTO auth_session (user_id, store_token, method, created_at) VALUES ($1, $2, 'password', $3)`, b.user.ID, "tok"+string(rune('a'+i)), now.Add(-age))
		exec(`INSERT INTO audit_subject_key (tenant_id, subject, key, created_at) VALUES (1, $1, $2, $3)`, "user:9"+string(rune('0'+i)), bytes.Repeat([]byte{1}, 32), now.Add(-age*30))
	}
	count := func(table string) int {
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		return n
	}

	keep := service(b, nil)
	cfg := config.Default().Privacy
	cfg.Retention = config.RetentionConfig{}
	keepAll := privacy.New(privacy.Options{Pool: b.pool, TenantID: 1, Registry: keep.Registry(), Config: cfg})
	_, err := keepAll.Purge(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 2, count("auth_session"), "a period of 0 keeps sessions until erased")

	n, err := keep.Purge(ctx, now)
	require.NoError(t, err)
	require.EqualValues(t, 1, n["sessions"])
	require.EqualValues(t, 1, n["audit_events"], "the idle subject's audit key is shredded")
	require.Equal(t, 1, count("auth_session"))
	require.Equal(t, 1, count("audit_subject_key"))
}

// Events written before per-subject sealing stay as they are, so the
// chain keeps verifying; the erasure says how many of the person's
// remain in clear.
func TestErasureReportsLegacyAuditEventsAndTheChainVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	// As a writer before migration 101 stored it: in clear.
	_, err := b.pool.Exec(ctx, `INSERT INTO audit_event (tenant_id, actor, actor_kind, action, object, object_id, after)
		VALUES (1, $1, 'user', 'user.contact_update', 'contact', 'x', '{"phone": "+1 555 0100"}')`, strconv.FormatInt(b.user.ID, 10))
	require.NoError(t, err)
	require.NoError(t, audit.Record(ctx, b.pool, audit.Event{TenantID: 1, Actor: audit.UserActor(strconv.FormatInt(b.user.ID, 10)),
		Action: "user.contact_update", After: map[string]any{"phone": "+1 555 0199"}}))
	_, err = audit.Seal(ctx, b.pool)
	require.NoError(t, err)

	rep, err := service(b, nil).Erase(ctx, "dora@example.test", "asked in writing", audit.StaffActor("7"))
	require.NoError(t, err)
	require.Len(t, rep.Notes, 1)
	require.Contains(t, rep.Notes[0], "1 audit event(s) about the person were written before per-subject sealing")

	_, err = audit.Seal(ctx, b.pool)
	require.NoError(t, err)
	vr, err := audit.Verify(ctx, b.pool, "")
	require.NoError(t, err)
	require.Empty(t, vr.Problems)
	require.EqualValues(t, 3, vr.Events, "the legacy event, the sealed one and the erasure's own")
}
