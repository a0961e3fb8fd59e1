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
// It must not log or store secrets: Before and After are stored as given,
// so the caller redacts them first (Redact helps). It owns the tables
// audit_event and audit_chain_head (migration 050) and nothing else.
//
// # Storage and guarantees
//
// The database, not this package, links each row into its chain: a BEFORE
// INSERT trigger locks the tenant's row in audit_chain_head (so concurrent
// writers of one tenant queue behind each other until commit and never
// fork the chain), assigns seq = last seq + 1, and computes prev_hash and
// hash, ignoring any a writer supplied. The lock is held until the
// writer's transaction ends, so record the event late in a long
// transaction. Under REPEATABLE READ or SERIALIZABLE a concurrent append
// makes the transaction fail with a serialization error to be retried.
//
// The API role portico_api may only INSERT and SELECT, within its tenant
// (row-level security on portico.tenant_id). A trigger refuses UPDATE,
// DELETE and TRUNCATE for every role, the owner included, unless the
// session declares maintenance with SET LOCAL portico.audit_maintenance =
// 'on'. The owner can still disable triggers; that is what verification
// catches. A DBA who rewrites every hash from some row onwards, and the
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
//	FROM audit_event WHERE tenant_id = 1 ORDER BY seq
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
// names the encoding of each row; only version 1 exists. The SQL side of
// this encoding is the audit_event_chain trigger; the Go side, written
// independently from this description, is what Verify runs.
package audit
