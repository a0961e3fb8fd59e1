// Package audit owns Portico's audit trail (DESIGN.md invariant 7): who
// changed what, when, from where, with the values before and after, in an
// append-only log that is hash-chained per tenant so that an edited,
// inserted or deleted row is detectable.
//
// Writers call Record with the transaction that makes the audited change,
// so the change and its audit row commit together or not at all; callers
// without a transaction use (*Log).Record. Other packages depend only on
// the Recorder interface. The package also verifies chains (Verify, behind
// `portico audit verify`) and serves the staff listing (AdminRoutes).
//
// It must not log or store secrets: Before and After are stored as given
// (sealed when they concern a person), so the caller redacts them first
// (Redact helps). It owns the tables audit_event, audit_chain_head and
// audit_subject_key (migrations 050, 080 and 101) and nothing else.
//
// # Storage and guarantees
//
// Writers append events unsealed, in their own transaction, and never
// wait for each other: an insert takes no lock on the chain. Sealing
// happens after commit. A Sealer runs in every Portico process and, every
// DefaultSealInterval, gives the committed unsealed events of each tenant
// the next seqs, in id order of what it can see: it reads them under the
// tenant's chain head lock, computes their hashes in Go (hashV1) and sets
// seq, prev_hash and hash with one call (audit_seal_link, migration
// 084). A transaction-level advisory lock lets one session seal at a time,
// fleet-wide; the chain head's row lock serialises sealers of a tenant in
// any case, so the chain cannot fork. An event whose transaction commits
// after a later id was already sealed is sealed in a later pass, with a
// later seq: the chain runs over seq, not id, and nothing committed is
// skipped, because a sealer looks for every unsealed event, not for ids
// above a mark. A rolled-back event never becomes visible and is never
// sealed.
//
// Until it is sealed (well within a second while any process runs) an
// event has NULL seq, hash_version, prev_hash and hash, and is not yet
// tamper-evident. Verify checks the sealed chain and reports the unsealed
// tail per tenant (how many, and how long the oldest has waited, from
// recorded_at); an event unsealed for longer than MaxUnsealedAge is a
// problem (StaleUnsealed, so `portico audit verify` exits 1): no process
// is sealing. `portico audit seal` seals by hand.
//
// The API role portico_api may only INSERT (the event's own columns, not
// the chain fields or recorded_at) and SELECT, within its tenant
// (row-level security on portico.tenant_id); it cannot seal. A trigger
// refuses UPDATE, DELETE and TRUNCATE for every role, the owner included,
// unless the session declares maintenance with SET LOCAL
// portico.audit_maintenance = 'on'. The one update it allows is sealing:
// setting all four chain fields of an unsealed event, once, with every
// other column unchanged. The owner can still disable triggers; that is
// what verification catches. A DBA who rewrites every hash from some row onwards, and the
// head with them, defeats any chain kept in the same database: anchor the
// head hash that `portico audit verify` prints somewhere else (a ticket, a
// signed log) to catch that too.
//
// # Hash encoding, version 1
//
// An auditor can recompute every hash from a plain SELECT, without Portico:
//
//	hash = SHA-256( "portico-audit-v1\n"
//	                || F(tenant_id) || F(seq) || F(occurred_at)
//	                || F(actor) || F(actor_kind) || F(account_id) || F(ip)
//	                || F(user_agent) || F(action) || F(object) || F(object_id)
//	                || F(before) || F(after) || F(request_id)
//	                || prev_hash )
//
// where the prefix is those 17 ASCII bytes (ending in a line feed), ||
// concatenates bytes, prev_hash is the 32 raw bytes of the previous row's
// hash in the same tenant (32 zero bytes for seq 1), and F(v) is
//
//   - for NULL: the four bytes FF FF FF FF;
//   - otherwise: the byte length of the UTF-8 text of v as a big-endian
//     unsigned 32-bit integer, then that text.
//
// The text of each field:
//
//   - tenant_id, seq: decimal, no sign or leading zeros;
//   - occurred_at: UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ, always six
//     fractional digits (PostgreSQL keeps microseconds);
//   - ip: lower-case hex of the address bytes, 8 digits for IPv4 and 32
//     for IPv6 (an IPv4-mapped address stored as IPv6 stays 32 digits);
//     in SQL encode(substring(inet_send(ip) FROM 5), 'hex'). The column
//     holds host addresses only;
//   - before, after: the jsonb value as PostgreSQL prints it (before::text):
//     for a given jsonb value that text is fixed (keys ordered by length,
//     then bytes; ", " and ": " separators; numbers as stored), so take it
//     from the database rather than re-serialising;
//   - every other field: the text as stored.
//
// For example, in Python, for rows from
//
//	SELECT tenant_id::text, seq::text,
//	       to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
//	       actor, actor_kind, account_id, encode(substring(inet_send(ip) FROM 5), 'hex'),
//	       user_agent, action, object, object_id, before::text, after::text,
//	       request_id, prev_hash, hash
//	FROM audit_event WHERE tenant_id = 1 AND seq IS NOT NULL ORDER BY seq
//
// each row's hash is
//
//	def F(v):
//	    if v is None: return b"\xff\xff\xff\xff"
//	    b = v.encode(); return struct.pack(">I", len(b)) + b
//	hashlib.sha256(b"portico-audit-v1\n" + b"".join(F(v) for v in row[:14]) + row[14]).digest()
//
// Rows of a tenant form a chain in seq order (1, 2, 3, ...): each row's
// prev_hash equals the previous row's hash, and audit_chain_head holds
// the last seq and hash, so a deleted last row shows as well. hash_version
// names the encoding of each row; only version 1 exists. The Go side of
// this encoding (hashV1), written from this description, is what the
// sealer and Verify run; the SQL side, written apart from it, is the
// audit_hash_v1 function (migration 080, which sealed with it until
// migration 084), and a test holds the two to the same hashes.
//
// # Personal fields
//
// Personal fields are encrypted per data subject (DESIGN.md invariant
// 10, subject.go): Before, After and UserAgent of an event about a person
// (Event.Subject, else the user the event changes, else the user who
// acted) are sealed with AES-256-GCM under that person's key in
// audit_subject_key (migration 101) before the row is written. The hash
// covers them as stored, ciphertext and all, so the encoding above is
// unchanged and needs no new version: erasure (ShredSubjects) deletes the
// key and touches no event, the chain still verifies, and a tampered row
// is still named. Rows written before migration 101 hold their fields in
// clear and keep verifying as they are: sealing them now would change
// what their hashes cover and break the chain they are anchored in. An
// erasure counts the person's events still in clear and reports them
// (internal/privacy), so staff know what a key cannot reach. The client address (ip) stays in clear
// as security evidence, and actor, object and ids are pseudonymous ids.
// The staff listing (AdminRoutes) shows sealed fields opened, or
// {"erased":true} once the key is gone.
package audit
