// Package notify tells portal users what changed for them, in proportion.
//
// Events come from what the cache and the actions already see: triggers
// (migrations/099_notify.up.sql) write each one into the notify_event
// outbox in the transaction that changed the record or the action, and a
// periodic scan adds the time-based ones (an invoice due in N days or
// overdue, an approval about to expire). No source is called to find one.
//
// The dispatcher takes events in batches. For each it finds the rule
// (which roles receive it, the template), the candidate users of the
// record's account, and keeps those the access policy lets read the
// record, exactly as a read of it would (records.Reader.Get under the
// user's scope): nobody is told about a record they cannot see. The user
// who caused the change is left out. Each recipient's preferences
// (event x channel: immediate, digest or off), quiet hours and daily cap
// decide the channel; a second event about the same record and kind folds
// into the notice whose email has not left yet, which then shows the final
// state. The notice, its exactly-once key (recipient, event) and its send
// job are committed in one transaction with the event's processed mark.
//
// The senders deliver one notice or one day's digest by SMTP (text and
// HTML, branded, with RFC 8058 one-click unsubscribe) under a row lock,
// and mark it sent in the same transaction: a retried job finds it sent.
// Webhooks sign each delivery (HMAC-SHA256 over timestamp and body) and
// are disabled after repeated failure, with the reason; each keeps its
// last delivery's outcome. An account admin (WebhookAccount) adds,
// removes, turns on again, pings and re-keys them here, for the page and
// the API alike, each change audited in its transaction.
//
// It must not call a source, read records outside the access policy, or
// render anything a recipient's roles may not see.
package notify
