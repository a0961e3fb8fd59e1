package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"
)

// hashPrefixV1 opens every version 1 encoding (doc.go).
const hashPrefixV1 = "portico-audit-v1\n"

// chainRow is one stored row's hashed content, as the database returns it.
type chainRow struct {
	TenantID   int64
	Seq        int64
	OccurredAt time.Time
	Actor      string
	ActorKind  string
	AccountID  *string
	IP         *netip.Addr
	UserAgent  *string
	Action     string
	Object     *string
	ObjectID   *string
	Before     []byte // jsonb text as PostgreSQL prints it; nil for NULL
	After      []byte
	RequestID  *string
	PrevHash   []byte
}

// hashV1 computes a row's hash by the version 1 encoding in doc.go. It is
// written from that description, not from the trigger, so that the two
// check each other.
func hashV1(r chainRow) []byte {
	h := sha256.New()
	h.Write([]byte(hashPrefixV1))
	field := func(v *string) {
		var n [4]byte
		if v == nil {
			n = [4]byte{0xff, 0xff, 0xff, 0xff}
			h.Write(n[:])
			return
		}
		binary.BigEndian.PutUint32(n[:], uint32(len(*v)))
		h.Write(n[:])
		h.Write([]byte(*v))
	}
	str := func(s string) *string { return &s }
	raw := func(b []byte) *string {
		if b == nil {
			return nil
		}
		return str(string(b))
	}
	var ip *string
	if r.IP != nil {
		ip = str(hex.EncodeToString(r.IP.AsSlice()))
	}

	field(str(strconv.FormatInt(r.TenantID, 10)))
	field(str(strconv.FormatInt(r.Seq, 10)))
	field(str(r.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000Z")))
	field(str(r.Actor))
	field(str(r.ActorKind))
	field(r.AccountID)
	field(ip)
	field(r.UserAgent)
	field(str(r.Action))
	field(r.Object)
	field(r.ObjectID)
	field(raw(r.Before))
	field(raw(r.After))
	field(r.RequestID)
	h.Write(r.PrevHash)
	return h.Sum(nil)
}
