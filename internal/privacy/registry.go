package privacy

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/porticohq/portico/internal/store"
)

// Retention kinds: the keys of privacy.retention in config.
const (
	KindSessions      = "sessions"
	KindNotifications = "notifications"
	KindActions       = "actions"
	KindFiles         = "files"
	KindAudit         = "audit"
)

// Part is one kind of personal data Portico keeps: what it is, why, how
// long, and how it is exported, erased and purged. A nil function means
// the part does not take part in that step.
type Part struct {
	// Name is the part's file in an export (Name + ".json") and its key in
	// an erasure's report: lower case, such as "sessions".
	Name string
	// Holds says what is kept and where, Purpose why, and Basis the
	// lawful basis (GDPR Art. 6), for the record of processing.
	Holds, Purpose, Basis string
	// Retention is the retention kind (KindSessions, ...) that bounds it,
	// or "" when something else does (Until says what).
	Retention string
	Until     string
	// Export returns the person's data as a JSON value (nil: nothing),
	// and may add files to the archive.
	Export func(ctx context.Context, db store.DBTX, s Subject, a *Archive) (any, error)
	// Erase removes or pseudonymises the person's data in the erasure's
	// transaction and says how many rows it changed.
	Erase func(ctx context.Context, db store.DBTX, s Subject, e *Erasure) (int64, error)
	// Purge deletes what is older than before and says how many rows.
	Purge func(ctx context.Context, db store.DBTX, before time.Time) (int64, error)
}

var partNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Registry holds the parts, in the order they export and erase.
type Registry struct{ parts []Part }

// Register adds a part; a part without a valid name, or with one taken,
// is refused.
func (r *Registry) Register(p Part) error {
	if !partNameRE.MatchString(p.Name) {
		return fmt.Errorf("privacy: part name %q is not a lower-case name such as sessions", p.Name)
	}
	for _, q := range r.parts {
		if q.Name == p.Name {
			return fmt.Errorf("privacy: part %q is registered twice", p.Name)
		}
	}
	r.parts = append(r.parts, p)
	return nil
}

// MustRegister is Register for the binary's wiring, which has no better
// answer to a programming error than to stop.
func (r *Registry) MustRegister(parts ...Part) {
	for _, p := range parts {
		if err := r.Register(p); err != nil {
			panic(err)
		}
	}
}

// Parts returns the registered parts in order.
func (r *Registry) Parts() []Part { return append([]Part(nil), r.parts...) }
