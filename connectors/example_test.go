package connectors_test

import (
	"context"
	"fmt"
	"time"

	"github.com/porticohq/portico/connectors"
)

// memory is a toy connector over a fixed list, enough to show the pull
// loop every caller writes.
type memory struct{ recs []connectors.Record }

func (m *memory) Objects(context.Context) ([]connectors.ObjectInfo, error) {
	return []connectors.ObjectInfo{{Name: "Case", Key: "Id", CursorField: "SystemModstamp"}}, nil
}

func (m *memory) Pull(_ context.Context, req connectors.PullRequest) (*connectors.Page, error) {
	// Two records per page; the second page repeats the boundary record,
	// as an overlap window does.
	switch req.Page {
	case "":
		return &connectors.Page{Records: m.recs[:2], Next: "2", Cursor: m.recs[1].Version}, nil
	default:
		return &connectors.Page{Records: m.recs[1:], Cursor: m.recs[2].Version}, nil
	}
}

func (m *memory) Get(context.Context, string, string) (*connectors.Record, error) {
	return nil, connectors.ErrNotFound
}

func (m *memory) Write(context.Context, connectors.Write) (*connectors.WriteResult, error) {
	return nil, &connectors.InvalidError{Field: "object", Msg: "read-only"}
}

// Example shows the pull loop: follow Page.Next to the end, dedupe by
// (ID, Version), and keep the last page's Cursor for the next pull once
// everything is stored.
func Example() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(id string, s int) connectors.Record {
		v := t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339)
		return connectors.Record{Object: "Case", ID: id, Version: v}
	}
	var conn connectors.Connector = &memory{recs: []connectors.Record{rec("500A", 1), rec("500B", 2), rec("500C", 2)}}

	seen := map[[2]string]bool{}
	req := connectors.PullRequest{Object: "Case"}
	var cursor string
	for {
		page, err := conn.Pull(context.Background(), req)
		if err != nil {
			fmt.Println("pull failed:", err) // a classified error: snooze, cancel or retry
			return
		}
		for _, r := range page.Records {
			if k := [2]string{r.ID, r.Version}; !seen[k] {
				seen[k] = true
				fmt.Println("store", r.ID)
			}
		}
		cursor = page.Cursor
		if page.Next == "" {
			break
		}
		req.Page = page.Next
	}
	fmt.Println("next pull from", cursor)
	// Output:
	// store 500A
	// store 500B
	// store 500C
	// next pull from 2026-01-01T00:00:02Z
}
