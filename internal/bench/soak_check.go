package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/writeback"
)

// cacheDiff compares every synced object's live cached records (ids and
// versions) with a full listing from the source, read-only, and returns
// how many differ and a few of them.
func cacheDiff(ctx context.Context, a *app.App) (int, []string, error) {
	n := 0
	var some []string
	for _, t := range a.Syncer().Targets() {
		conn, ok := a.Sources().Connectors()[t.Connection]
		if !ok {
			return 0, nil, fmt.Errorf("bench: no connector %s", t.Connection)
		}
		rows, err := store.RecordVersions(ctx, a.Pool(), store.RecordVersionsParams{TenantID: a.TenantID(), Connection: t.Connection, SourceObject: t.Object})
		if err != nil {
			return 0, nil, err
		}
		cached := make(map[string]string, len(rows))
		for _, r := range rows {
			cached[r.SourceID] = r.SourceVersion
		}
		differ := func(what string) {
			n++
			if len(some) < 5 {
				some = append(some, t.Connection+" "+t.Object+" "+what)
			}
		}
		req := connectors.PullRequest{Object: t.Object}
		for {
			page, err := conn.Pull(ctx, req)
			if err != nil {
				return 0, nil, fmt.Errorf("bench: listing %s %s: %w", t.Connection, t.Object, err)
			}
			for _, rec := range page.Records {
				v, ok := cached[rec.ID]
				switch {
				case !ok:
					differ(rec.ID + " not cached")
				case v != rec.Version:
					differ(rec.ID + " cached at " + v + ", source at " + rec.Version)
				}
				delete(cached, rec.ID)
			}
			if page.Next == "" {
				break
			}
			req.Page = page.Next
		}
		for id := range cached {
			differ(id + " cached, not at the source")
		}
	}
	return n, some, nil
}

// actionCheck is every action of the run against the source.
type actionCheck struct {
	// Accepted are the actions stored; Answered those the load was
	// answered with (a request that failed after the commit leaves one
	// more stored than answered, and counts as that request's error).
	Accepted int            `json:"accepted"`
	Answered int            `json:"answered"`
	States   map[string]int `json:"states"`
	Applied  int            `json:"applied"`
	Shared   int64          `json:"results_claimed_twice"`
	Missing  int            `json:"results_missing_at_source"`
	Created  map[string]int `json:"source_created"`  // records the source gained, per vendor object
	Expected map[string]int `json:"source_expected"` // applied creates plus staff replies, per vendor object
}

// appliedOnce says whether every action was applied, once.
func (c actionCheck) appliedOnce() bool {
	if c.Applied != c.Accepted || c.Shared != 0 || c.Missing != 0 {
		return false
	}
	for obj, n := range c.Expected {
		if c.Created[obj] != n {
			return false
		}
	}
	return true
}

// checkActions checks every action of the run (the database is the
// soak's own): each applied, no source record claimed by two, each result
// at the source, and the source gained exactly the records the actions
// (and the staff's replies) created.
func checkActions(ctx context.Context, a *app.App, set *mapping.Set, sim *fakesource.Sim, answered int, before map[string]int, replies int) (actionCheck, error) {
	c := actionCheck{Answered: answered, States: map[string]int{}, Created: map[string]int{}, Expected: map[string]int{}}
	states, err := store.BenchActionStates(ctx, a.Pool())
	if err != nil {
		return c, err
	}
	for _, s := range states {
		c.States[s.State] = int(s.N)
	}
	if c.Shared, err = store.BenchSharedResults(ctx, a.Pool()); err != nil {
		return c, err
	}
	ids, err := store.BenchActionIDs(ctx, a.Pool())
	if err != nil {
		return c, err
	}
	c.Accepted = len(ids)
	for _, id := range ids {
		act, err := a.Actions().Get(ctx, a.TenantID(), id)
		if err != nil {
			return c, fmt.Errorf("bench: action %d: %w", id, err)
		}
		if act.State != writeback.StateApplied {
			continue
		}
		c.Applied++
		obj, ok := set.For(act.Connection, act.Object)
		if !ok {
			return c, fmt.Errorf("bench: action %d: no mapping for %s %s", id, act.Connection, act.Object)
		}
		c.Expected[obj.SourceObject()]++
		if _, err := sim.Record(act.Connection, obj.SourceObject(), act.ResultID); err != nil {
			c.Missing++
		}
	}
	c.Expected["CaseComment"] += replies
	after := sim.Stats().Records[fakesource.Salesforce]
	for obj := range c.Expected {
		c.Created[obj] = after[obj] - before[obj]
	}
	return c, nil
}

// describe is the check in a line for people.
func (c actionCheck) describe() string {
	var parts []string
	for obj, n := range c.Expected {
		parts = append(parts, fmt.Sprintf("%s %d/%d", obj, c.Created[obj], n))
	}
	return fmt.Sprintf("%d accepted (%d answered), %d applied (%v), %d results claimed twice, %d missing at the source; source gained (got/want) %s",
		c.Accepted, c.Answered, c.Applied, c.States, c.Shared, c.Missing, strings.Join(parts, ", "))
}
