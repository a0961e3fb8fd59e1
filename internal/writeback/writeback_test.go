package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/writeback"
)

func sfWrites(sim *fakesource.Sim, key string) int {
	for _, w := range sim.Stats().Writes {
		if w.System == fakesource.Salesforce && strings.HasSuffix(w.Key, "/"+key) {
			return w.Count
		}
	}
	return 0
}

// TestCreateShowsPendingThenApplied: the new case shows at once under a
// provisional id, marked pending; once applied, the source's record with
// its real id replaces it, created through the action's key.
func TestCreateShowsPendingThenApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 0)
	cases0 := e.sim.Stats().Records[fakesource.Salesforce]["Case"]

	e.health.open.Store(true) // hold it pending while we look
	a, created, err := e.svc.Submit(ctx, c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Printer on fire"}, "k1"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, writeback.StatePending, a.State)
	require.Equal(t, writeback.ProvisionalID(a.ID), a.Target)

	rd := records.New(records.Options{Pool: e.pool, Mappings: e.set})
	scope := access.Scope{TenantID: 1, Accounts: []string{c.account}, Roles: []string{mapping.RoleMember}}
	rec, err := rd.Get(ctx, scope, "case", a.Target, records.GetOptions{})
	require.NoError(t, err, "the pending case is visible in the user's scope")
	require.Equal(t, "Printer on fire", rec.Field("subject"))
	require.NotNil(t, rec.PendingAction)
	require.Equal(t, a.ID, rec.PendingAction.ID)
	require.Equal(t, writeback.StatePending, rec.PendingAction.State)

	e.health.open.Store(false)
	a = e.waitState(t, a.ID, writeback.StateApplied, 15*time.Second)
	require.NotEmpty(t, a.ResultID)
	require.Equal(t, cases0+1, e.sim.Stats().Records[fakesource.Salesforce]["Case"])
	src, err := e.sim.Record(fakesource.Salesforce, "Case", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, "Printer on fire", src["Subject"])
	require.Equal(t, writeback.SourceKey(1, a.ID), src["Portico_Action_Id__c"])
	require.Equal(t, c.account, src["AccountId"])

	_, err = rd.Get(ctx, scope, "case", a.Target, records.GetOptions{})
	require.ErrorIs(t, err, records.ErrNotFound, "the provisional record is gone")
	rec, err = rd.Get(ctx, scope, "case", a.ResultID, records.GetOptions{})
	require.NoError(t, err)
	require.Nil(t, rec.PendingAction)
	require.Equal(t, a.ResultVersion, rec.Version)
	require.Equal(t, 1, a.Attempts)
}

// TestActionsOnOneRecordApplyInOrder: the first of three updates to one
// contact is held back by an outage; the later ones wait for it, so the
// source ends with the last change.
func TestActionsOnOneRecordApplyInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, stackOptions{})
	c := e.customer(t, 5)
	e.cache(t, "Contact", c.contact)
	require.NoError(t, e.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{OutageSeconds: 1.5}))
	var ids []int64
	for i := range 3 {
		a, _, err := e.svc.Submit(ctx, c.request(writeback.KindUpdateContact, c.contact, map[string]any{"title": fmt.Sprint("step ", i)}, ""))
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	var applied []time.Time
	for _, id := range ids {
		a := e.waitState(t, id, writeback.StateApplied, 20*time.Second)
		applied = append(applied, *a.AppliedAt)
	}
	require.True(t, !applied[1].Before(applied[0]) && !applied[2].Before(applied[1]), "applied in acceptance order: %v", applied)
	e.requireTitle(t, c.contact, "step 2")
	first, err := e.svc.Get(ctx, 1, ids[0])
	require.NoError(t, err)
	require.Positive(t, first.Attempts, "the first was really held back by the outage")
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// losingConnector applies the first write of each idempotency key at the
// source, then loses its answer, as a dropped connection would.
type losingConnector struct {
	connectors.Connector
	mu   sync.Mutex
	lost map[string]bool
}

func (l *losingConnector) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	res, err := l.Connector.Write(ctx, w)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && !l.lost[w.IdempotencyKey] {
		l.lost[w.IdempotencyKey] = true
		return nil, connectors.Classify(connectors.ErrUnavailable, errors.New("connection reset after the write"))
	}
	return res, err
}
