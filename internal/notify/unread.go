package notify

import (
	"strconv"
	"strings"
	"sync"

	"github.com/porticohq/portico/internal/pgnotify"
)

// UnreadChannel is where migration 108's trigger announces, at commit,
// whose inbox changed: "<tenant>:<user>".
const UnreadChannel = "portico_notice"

// unreadCache keeps each user's unread count, which the portal's header
// shows on every page, until their inbox changes: a notice added or read
// by any process drops it (UnreadChannel). While the listener is
// disconnected nothing is kept. A count read while a change raced it is
// not kept: reads note the user's generation first.
type unreadCache struct {
	mu     sync.Mutex
	live   bool
	epoch  uint64
	gens   map[unreadKey]uint64
	counts map[unreadKey]int
}

type unreadKey struct{ tenant, user int64 }

// unreadCacheMax bounds the cache; past it, it starts over.
const unreadCacheMax = 100_000

func newUnreadCache() *unreadCache {
	return &unreadCache{gens: map[unreadKey]uint64{}, counts: map[unreadKey]int{}}
}

// SetLive implements pgnotify.Subscriber.
func (c *unreadCache) SetLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.dropAll()
}

// Notify implements pgnotify.Subscriber.
func (c *unreadCache) Notify(payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, u, _ := strings.Cut(payload, ":")
	tenant, err1 := strconv.ParseInt(t, 10, 64)
	user, err2 := strconv.ParseInt(u, 10, 64)
	if err1 != nil || err2 != nil {
		c.dropAll()
		return
	}
	c.drop(unreadKey{tenant, user})
}

// forget drops a user's count at once, for a change this process made:
// its own next read must not wait for the announcement to come round.
func (c *unreadCache) forget(k unreadKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(k)
}

func (c *unreadCache) drop(k unreadKey) {
	c.gens[k]++
	delete(c.counts, k)
}

func (c *unreadCache) dropAll() {
	c.epoch++
	clear(c.gens)
	clear(c.counts)
}

// get returns the kept count, or the ticket a read of it starts from.
func (c *unreadCache) get(k unreadKey) (n int, ok bool, t unreadTicket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.counts[k]; ok {
		return n, true, unreadTicket{}
	}
	return 0, false, unreadTicket{epoch: c.epoch, gen: c.gens[k], keep: c.live}
}

type unreadTicket struct {
	epoch, gen uint64
	keep       bool
}

// put keeps n, read from ticket t, unless the user's inbox changed since.
func (c *unreadCache) put(k unreadKey, n int, t unreadTicket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.keep || !c.live || c.epoch != t.epoch || c.gens[k] != t.gen {
		return
	}
	if len(c.counts) >= unreadCacheMax {
		clear(c.counts)
	}
	c.counts[k] = n
}

// UnreadSubscriptions are what a serving process's one LISTEN connection
// must carry for Unread to keep counts in memory; without them every
// count is read from the database.
func (s *Service) UnreadSubscriptions() map[string]pgnotify.Subscriber {
	return map[string]pgnotify.Subscriber{UnreadChannel: s.unread}
}
