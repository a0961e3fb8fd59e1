package fakesource

import (
	"slices"
	"strings"
)

// CallStat counts calls to one endpoint that ended with one status.
type CallStat struct {
	System   string `json:"system"`
	Endpoint string `json:"endpoint"`
	Status   int    `json:"status"`
	Count    int    `json:"count"`
}

// WriteStat counts how often one idempotency key was presented to a write endpoint.
// Count-1 of them were duplicates answered from memory without changing anything.
type WriteStat struct {
	System string `json:"system"`
	Key    string `json:"key"`
	Count  int    `json:"count"`
}

// WebhookStats counts webhook deliveries.
type WebhookStats struct {
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
}

// Stats is a snapshot of what the simulator has seen since New or the last Reset.
type Stats struct {
	Calls      []CallStat                `json:"calls"`
	Records    map[string]map[string]int `json:"records"` // live (not deleted) records per system and object
	Writes     []WriteStat               `json:"writes"`
	Duplicates int                       `json:"duplicates"` // sum of Count-1 over Writes
	Webhooks   WebhookStats              `json:"webhooks"`
}

// CallCount sums calls to system whose endpoint contains endpoint ("" = all) with status
// (0 = any).
func (st Stats) CallCount(system, endpoint string, status int) int {
	n := 0
	for _, c := range st.Calls {
		if (system == "" || c.System == system) && strings.Contains(c.Endpoint, endpoint) && (status == 0 || c.Status == status) {
			n += c.Count
		}
	}
	return n
}

type callKey struct {
	system, endpoint string
	status           int
}

type statsState struct {
	calls  map[callKey]int
	writes map[[2]string]int
}

func newStatsState() *statsState {
	return &statsState{calls: map[callKey]int{}, writes: map[[2]string]int{}}
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Calls: []CallStat{}, Writes: []WriteStat{}, Records: map[string]map[string]int{}}
	for k, n := range s.stats.calls {
		out.Calls = append(out.Calls, CallStat{System: k.system, Endpoint: k.endpoint, Status: k.status, Count: n})
	}
	slices.SortFunc(out.Calls, func(a, b CallStat) int {
		return strings.Compare(a.System+" "+a.Endpoint+" "+itoa(a.Status), b.System+" "+b.Endpoint+" "+itoa(b.Status))
	})
	for k, n := range s.stats.writes {
		out.Writes = append(out.Writes, WriteStat{System: k[0], Key: k[1], Count: n})
		out.Duplicates += n - 1
	}
	slices.SortFunc(out.Writes, func(a, b WriteStat) int { return strings.Compare(a.System+a.Key, b.System+b.Key) })
	for _, o := range s.store.objects {
		m := out.Records[o.def.system]
		if m == nil {
			m = map[string]int{}
			out.Records[o.def.system] = m
		}
		m[o.def.name] = o.live
	}
	out.Webhooks = s.hooks.stats()
	return out
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
