package auth

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/porticohq/portico/internal/store"
)

// cacheChannel is where migrations 064 and 066's triggers announce a
// changed web session ("w:<store token>"), a deleted login session
// ("s:<id>"), a user whose rights changed ("u:<id>") and a revoked or
// changed API token ("k:<id>").
const cacheChannel = "portico_auth"

// Cache bounds: an entry lives at most cacheTTL even if a notification
// were somehow missed, and a full cache starts over rather than growing.
const (
	cacheTTL        = time.Minute
	cacheMaxEntries = 100_000
)

// authCache keeps what identifies a browser session (the session data and
// the session's user) and an API token (the token and its user) in memory,
// so that an authenticated request needs no database round trip of its own. PostgreSQL tells every process when a
// cached row changes (LISTEN/NOTIFY, sent at commit), and the listener
// drops the entry. While the listener is not connected nothing is cached:
// every request reads the database, as without a cache.
//
// A fill that raced a notification must not store what it read: fills
// note the generation before reading and store only if no notification
// (or reconnection) bumped it meanwhile.
type authCache struct {
	mu     sync.Mutex
	live   bool
	gen    uint64
	web    map[string]cachedWeb
	users  map[int64]cachedUser   // by login session id
	tokens map[string]cachedToken // API tokens by hash

	hits, misses atomic.Int64
}

type cachedWeb struct {
	data []byte
	at   time.Time
}

type cachedUser struct {
	user store.AuthUser
	at   time.Time
}

type cachedToken struct {
	row     store.AuthAPITokenLookupRow
	at      time.Time
	touched time.Time // last_used_at written
}

func newAuthCache() *authCache {
	return &authCache{web: map[string]cachedWeb{}, users: map[int64]cachedUser{}, tokens: map[string]cachedToken{}}
}

// begin returns the generation a fill starts at, and whether it may be
// cached at all.
func (c *authCache) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.live
}

func (c *authCache) webData(token string, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	e, ok := c.web[token]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= cacheTTL {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return e.data, true
}

func (c *authCache) putWeb(gen uint64, token string, data []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.web) >= cacheMaxEntries {
		clear(c.web)
	}
	c.web[token] = cachedWeb{data: data, at: now}
}

func (c *authCache) user(sid int64, now time.Time) (store.AuthUser, bool) {
	c.mu.Lock()
	e, ok := c.users[sid]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= cacheTTL {
		c.misses.Add(1)
		return store.AuthUser{}, false
	}
	c.hits.Add(1)
	return e.user, true
}

func (c *authCache) putUser(gen uint64, sid int64, u store.AuthUser, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.users) >= cacheMaxEntries {
		clear(c.users)
	}
	c.users[sid] = cachedUser{user: u, at: now}
}

// token returns a cached live API token by its hash; an expired token is
// not returned.
func (c *authCache) token(hash string, now time.Time) (cachedToken, bool) {
	c.mu.Lock()
	e, ok := c.tokens[hash]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= cacheTTL || !now.Before(e.row.AuthApiToken.ExpiresAt.Time) {
		c.misses.Add(1)
		return cachedToken{}, false
	}
	c.hits.Add(1)
	return e, true
}

func (c *authCache) putToken(gen uint64, hash string, row store.AuthAPITokenLookupRow, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.tokens) >= cacheMaxEntries {
		clear(c.tokens)
	}
	c.tokens[hash] = cachedToken{row: row, at: now, touched: now}
}

// touchedToken notes that a token's last_used_at was written at now.
func (c *authCache) touchedToken(hash string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.tokens[hash]; ok {
		e.touched = now
		c.tokens[hash] = e
	}
}

// invalidate applies one notification; an unknown payload drops
// everything.
func (c *authCache) invalidate(payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	kind, key, _ := strings.Cut(payload, ":")
	id, err := strconv.ParseInt(key, 10, 64)
	switch {
	case kind == "w":
		delete(c.web, key)
	case kind == "s" && err == nil:
		delete(c.users, id)
	case kind == "u" && err == nil:
		for sid, e := range c.users {
			if e.user.ID == id {
				delete(c.users, sid)
			}
		}
		for h, e := range c.tokens {
			if e.row.AuthUser.ID == id {
				delete(c.tokens, h)
			}
		}
	case kind == "k" && err == nil:
		for h, e := range c.tokens {
			if e.row.AuthApiToken.ID == id {
				delete(c.tokens, h)
			}
		}
	default:
		clear(c.web)
		clear(c.users)
		clear(c.tokens)
	}
}

// SetLive implements pgnotify.Subscriber: it empties the cache and turns
// it on or off.
func (c *authCache) SetLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	clear(c.web)
	clear(c.users)
	clear(c.tokens)
}

// Notify implements pgnotify.Subscriber.
func (c *authCache) Notify(payload string) { c.invalidate(payload) }

// cachedStore is the session store behind the cache: reads are served
// from memory while the cache is live, writes go to PostgreSQL (whose
// trigger then invalidates every process's copy).
type cachedStore struct {
	inner scs.CtxStore
	c     *authCache
	now   func() time.Time
}

func (s cachedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	now := s.now()
	if b, ok := s.c.webData(token, now); ok {
		return b, true, nil
	}
	gen, live := s.c.begin()
	b, found, err := s.inner.FindCtx(ctx, token)
	if err == nil && found && live {
		s.c.putWeb(gen, token, b, now)
	}
	return b, found, err
}

func (s cachedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	err := s.inner.CommitCtx(ctx, token, b, expiry)
	s.c.invalidate("w:" + token)
	return err
}

func (s cachedStore) DeleteCtx(ctx context.Context, token string) error {
	err := s.inner.DeleteCtx(ctx, token)
	s.c.invalidate("w:" + token)
	return err
}

func (s cachedStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s cachedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s cachedStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
