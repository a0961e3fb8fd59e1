package fakesource

import (
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
)

// mix is splitmix64: a fast, well-distributed hash used to derive every seed value.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rnd is a tiny deterministic generator for one seed record.
type rnd struct{ s uint64 }

func newRnd(seed int64, tag uint64, i int) *rnd {
	return &rnd{s: mix(uint64(seed)*0x100000001b3 ^ tag*0x9e3779b97f4a7c15 ^ uint64(i))}
}

func (r *rnd) next() uint64 { r.s = mix(r.s); return r.s }

// intn returns a value in [0,n).
func (r *rnd) intn(n int) int {
	if n <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

func (r *rnd) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func pick[T any](r *rnd, xs []T) T { return xs[r.intn(len(xs))] }

// tagOf hashes an object name into a generator tag.
func tagOf(s string) uint64 {
	var h uint64 = 0xcbf29ce484222325
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sfID builds an 18-character Salesforce id: key prefix, pod "8d", a 10-digit base-62
// counter (ASCII-ordered, so ids sort like their sequence) and the case-safe suffix.
func sfID(prefix string, seq int64) string {
	var b [18]byte
	copy(b[:], prefix)
	b[3], b[4] = '8', 'd'
	v := uint64(seq)
	for k := 14; k >= 5; k-- {
		b[k] = b62[v%62]
		v /= 62
	}
	copy(b[15:], sfSuffix(b[:15]))
	return string(b[:])
}

// sfSuffix is Salesforce's 15-to-18 checksum: one character per 5-char chunk encoding
// which of its characters are upper case.
func sfSuffix(id []byte) []byte {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	out := make([]byte, 3)
	for c := 0; c < 3; c++ {
		n := 0
		for k := 0; k < 5; k++ {
			ch := id[c*5+k]
			if ch >= 'A' && ch <= 'Z' {
				n |= 1 << k
			}
		}
		out[c] = alpha[n]
	}
	return out
}

// sfSeq parses an id made by sfID (15 or 18 chars) back to its sequence.
func sfSeq(prefix, id string) (int64, bool) {
	if len(id) != 15 && len(id) != 18 || id[:3] != prefix || id[3:5] != "8d" {
		return 0, false
	}
	var v int64
	for k := 5; k < 15; k++ {
		d := indexB62(id[k])
		if d < 0 {
			return 0, false
		}
		v = v*62 + int64(d)
	}
	if len(id) == 18 && string(sfSuffix([]byte(id[:15]))) != id[15:] {
		return 0, false
	}
	return v, true
}

func indexB62(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// sqID builds a Square-looking 24-character id that decodes back to seq: 13 base-32 digits
// of a keyed bijective scramble of seq, then 11 characters of checksum.
func sqID(key uint64, seq int64) string {
	v := uint64(seq)*0x9e3779b97f4a7c15 ^ key // odd multiplier: bijective mod 2^64
	var b [24]byte
	x := v
	for k := 12; k >= 0; k-- {
		b[k] = b32[x&31]
		x >>= 5
	}
	h := mix(v ^ mix(key))
	for k := 13; k < 24; k++ {
		b[k] = b32[h&31]
		h >>= 5
	}
	return string(b[:])
}

func sqSeq(key uint64, id string) (int64, bool) {
	if len(id) != 24 {
		return 0, false
	}
	var v uint64
	for k := 0; k < 13; k++ {
		d := -1
		for j := 0; j < 32; j++ {
			if b32[j] == id[k] {
				d = j
				break
			}
		}
		if d < 0 {
			return 0, false
		}
		v = v<<5 | uint64(d)
	}
	seq := int64((v ^ key) * inverseOdd(0x9e3779b97f4a7c15))
	if seq < 0 || sqID(key, seq) != id {
		return 0, false
	}
	return seq, true
}

// inverseOdd returns the multiplicative inverse of an odd number mod 2^64 (Newton).
func inverseOdd(a uint64) uint64 {
	x := a
	for range 5 {
		x *= 2 - a*x
	}
	return x
}

// qbID is QuickBooks' numeric id; seq 0 is "1".
func qbID(seq int64) string { return strconv.FormatInt(seq+1, 10) }

func qbSeq(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n - 1, true
}

// lockedRand drives fault injection; deterministic per seed but shared by all requests.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed int64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

// token returns n random characters from b62 for opaque tokens.
func (l *lockedRand) token(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = b62[l.r.IntN(62)]
	}
	return string(b)
}
