package notify

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/store"
)

// setting is a user's time zone and quiet hours.
type setting struct {
	loc        *time.Location
	quietStart int // minutes after local midnight
	quietEnd   int
}

func (s *Service) setting(ctx context.Context, db store.DBTX, user int64) (setting, error) {
	row, err := store.NotifySettingGet(ctx, db, user)
	if errors.Is(err, store.ErrNotFound) {
		return setting{loc: time.UTC}, nil
	}
	if err != nil {
		return setting{}, err
	}
	loc, err := time.LoadLocation(row.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return setting{loc: loc, quietStart: int(row.QuietStart), quietEnd: int(row.QuietEnd)}, nil
}

// afterQuiet moves an instant inside the quiet hours to their end.
func (st setting) afterQuiet(at time.Time) time.Time {
	if st.quietStart == st.quietEnd {
		return at
	}
	local := at.In(st.loc)
	minute := local.Hour()*60 + local.Minute()
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, st.loc)
	end := day.Add(time.Duration(st.quietEnd) * time.Minute)
	if st.quietStart < st.quietEnd { // e.g. 13:00-14:00
		if minute >= st.quietStart && minute < st.quietEnd {
			return end
		}
		return at
	}
	// Across midnight, e.g. 22:00-07:00.
	switch {
	case minute >= st.quietStart:
		return end.AddDate(0, 0, 1)
	case minute < st.quietEnd:
		return end
	}
	return at
}

// Settings are a user's time zone and quiet hours as the preferences page
// shows them.
type Settings struct {
	TimeZone   string
	QuietStart int // minutes after local midnight
	QuietEnd   int
}

// ErrInvalid is bad input; its message names the field.
var ErrInvalid = errors.New("notify: invalid")

type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }
func (e *fieldError) Unwrap() error { return ErrInvalid }

// Field names the field a bad input is about, "" for other errors.
func Field(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.field
	}
	return ""
}

// FieldMessage is what is wrong with the field Field names, "" for
// other errors.
func FieldMessage(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return ""
}

// Preferences are a user's choices per event and channel, with defaults
// filled in.
type Preferences struct {
	Modes    map[string]map[string]string // event -> channel -> mode
	Settings Settings
}

// Preferences returns a user's preferences.
func (s *Service) Preferences(ctx context.Context, tenant, user int64) (*Preferences, error) {
	p := &Preferences{Modes: map[string]map[string]string{}, Settings: Settings{TimeZone: "UTC"}}
	rows, err := store.NotifyPreferences(ctx, s.opts.Pool, user)
	if err != nil {
		return nil, err
	}
	set := map[string]string{}
	for _, r := range rows {
		set[r.Event+"/"+r.Channel] = r.Mode
	}
	r := &recipient{prefs: set}
	old, err := store.NotificationPreferenceGet(ctx, s.opts.Pool, store.NotificationPreferenceGetParams{TenantID: tenant, UserID: user})
	if err == nil {
		r.legacy, r.hasOld = old, true
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	for _, ev := range Events {
		p.Modes[ev] = map[string]string{
			ChannelEmail: r.mode(ev, ChannelEmail, s.opts.Rules[ev].Email),
			ChannelInbox: r.mode(ev, ChannelInbox, ModeImmediate),
		}
	}
	row, err := store.NotifySettingGet(ctx, s.opts.Pool, user)
	switch {
	case err == nil:
		p.Settings = Settings{TimeZone: row.TimeZone, QuietStart: int(row.QuietStart), QuietEnd: int(row.QuietEnd)}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return p, nil
}

// SetPreference sets one event x channel mode.
func (s *Service) SetPreference(ctx context.Context, tenant, user int64, event, channel, mode string) error {
	if _, ok := s.opts.Rules[event]; !ok {
		return &fieldError{"event", "unknown event " + event}
	}
	if channel != ChannelEmail && channel != ChannelInbox {
		return &fieldError{"channel", "must be email or inbox"}
	}
	if mode != ModeImmediate && mode != ModeDigest && mode != ModeOff || (channel == ChannelInbox && mode == ModeDigest) {
		return &fieldError{event + "_" + channel, "must be immediate, digest (email only) or off"}
	}
	return store.NotifyPreferencePut(ctx, s.opts.Pool, store.NotifyPreferencePutParams{
		UserID: user, TenantID: tenant, Event: event, Channel: channel, Mode: mode,
	})
}

// SetPreferences sets several modes and the settings in one transaction;
// nothing changes when one is bad.
func (s *Service) SetPreferences(ctx context.Context, tenant, user int64, modes map[string]map[string]string, st Settings) error {
	if _, err := time.LoadLocation(st.TimeZone); err != nil || st.TimeZone == "" || st.TimeZone == "Local" {
		return &fieldError{"time_zone", "is not a known time zone (e.g. Europe/Berlin)"}
	}
	if st.QuietStart < 0 || st.QuietStart > 1439 {
		return &fieldError{"quiet_start", "must be a time of day"}
	}
	if st.QuietEnd < 0 || st.QuietEnd > 1439 {
		return &fieldError{"quiet_end", "must be a time of day"}
	}
	for ev, chans := range modes {
		for ch, m := range chans {
			if _, ok := s.opts.Rules[ev]; !ok {
				return &fieldError{"event", "unknown event " + ev}
			}
			if (ch != ChannelEmail && ch != ChannelInbox) || (m != ModeImmediate && m != ModeDigest && m != ModeOff) || (ch == ChannelInbox && m == ModeDigest) {
				return &fieldError{ev + "_" + ch, "must be immediate, digest (email only) or off"}
			}
		}
	}
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		for ev, chans := range modes {
			for ch, m := range chans {
				if err := store.NotifyPreferencePut(ctx, tx, store.NotifyPreferencePutParams{
					UserID: user, TenantID: tenant, Event: ev, Channel: ch, Mode: m,
				}); err != nil {
					return err
				}
			}
		}
		return store.NotifySettingPut(ctx, tx, store.NotifySettingPutParams{
			UserID: user, TenantID: tenant, TimeZone: st.TimeZone, QuietStart: int16(st.QuietStart), QuietEnd: int16(st.QuietEnd),
		})
	})
}

// InvalidField is bad input about one field, for callers that check a
// form's fields before the service sees them.
func InvalidField(field, msg string) error { return &fieldError{field, msg} }
