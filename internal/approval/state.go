package approval

import (
	"errors"
	"fmt"
	"time"
)

// State is where a request stands.
type State string

// The states.
const (
	Requested State = "requested" // presented to the customer, not opened yet
	Viewed    State = "viewed"    // a customer opened it
	Approved  State = "approved"
	Rejected  State = "rejected"
	Expired   State = "expired"   // its expiry date passed undecided
	Withdrawn State = "withdrawn" // staff took it back at the source
)

// Event moves a request from one state to another.
type Event string

// The events.
const (
	EventRequest  Event = "request"  // the source presents it (again)
	EventView     Event = "view"     // a customer opens it
	EventApprove  Event = "approve"  // accepted (by the customer, or at the source)
	EventReject   Event = "reject"   // rejected
	EventExpire   Event = "expire"   // its expiry date passed
	EventWithdraw Event = "withdraw" // the source no longer presents it
)

// transitions is the whole machine: a missing pair is refused.
var transitions = map[State]map[Event]State{
	"":        {EventRequest: Requested},
	Requested: {EventView: Viewed, EventApprove: Approved, EventReject: Rejected, EventExpire: Expired, EventWithdraw: Withdrawn},
	Viewed:    {EventApprove: Approved, EventReject: Rejected, EventExpire: Expired, EventWithdraw: Withdrawn},
	// Staff may present a withdrawn or expired request again (a new
	// expiry date, a revised quote), which starts it over.
	Withdrawn: {EventRequest: Requested},
	Expired:   {EventRequest: Requested, EventWithdraw: Withdrawn},
	// A decision is final for the portal; staff changing it at the source
	// withdraws it.
	Approved: {EventWithdraw: Withdrawn},
	Rejected: {EventWithdraw: Withdrawn},
}

// ErrTransition is an event the state does not take.
var ErrTransition = errors.New("approval: not possible in this state")

// Next is the state e leads to from s.
func Next(s State, e Event) (State, error) {
	if to, ok := transitions[s][e]; ok {
		return to, nil
	}
	return s, fmt.Errorf("%w: %s a request that is %s", ErrTransition, e, describe(s))
}

func describe(s State) string {
	if s == "" {
		return "not requested"
	}
	return string(s)
}

// Decidable reports whether a customer may still decide in state s.
func Decidable(s State) bool { return s == Requested || s == Viewed }

// Source is what the cached source record says of a request: its portal
// status (pending, accepted, rejected, preparing, ...), its expiry date
// (zero: none), and whether the customer can still see it at all.
type Source struct {
	Status    string
	ExpiresOn time.Time
	Visible   bool
}

// Settle is the state s becomes at now once brought in line with the
// source, without recording it (Observe records it).
func (src Source) Settle(s State, now time.Time) State {
	for _, e := range src.events(s, now) {
		s, _ = Next(s, e)
	}
	return s
}

// events are what the source's view demands of state s at now, in order
// (a request presented again and since expired: request, then expire).
func (src Source) events(s State, now time.Time) []Event {
	var want State
	switch {
	case !src.Visible || (src.Status != "pending" && src.Status != "accepted" && src.Status != "rejected"):
		want = Withdrawn
	case src.Status == "accepted":
		want = Approved
	case src.Status == "rejected":
		want = Rejected
	case !src.ExpiresOn.IsZero() && !now.Before(src.ExpiresOn.AddDate(0, 0, 1)):
		// Valid through its expiry date.
		want = Expired
	default:
		want = Requested
	}
	switch {
	case want == s, want == Requested && s == Viewed:
		return nil
	case want == Withdrawn:
		if s == "" || s == Withdrawn {
			return nil
		}
		return []Event{EventWithdraw}
	}
	var out []Event
	if s == "" || s == Withdrawn || (s == Expired && want != Expired) || ((s == Approved || s == Rejected) && want != s) {
		if s == Approved || s == Rejected {
			// Staff reopened a decided request: it was withdrawn, then
			// presented again.
			out = append(out, EventWithdraw)
		}
		out = append(out, EventRequest)
	}
	switch want {
	case Approved:
		out = append(out, EventApprove)
	case Rejected:
		out = append(out, EventReject)
	case Expired:
		out = append(out, EventExpire)
	}
	return out
}
