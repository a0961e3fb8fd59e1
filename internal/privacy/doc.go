// Package privacy owns Portico's GDPR duties (DESIGN.md invariant 10):
// access and portability (Art. 15 and 20: a person's data as a zip of
// JSON and their files, built in the background by a River job and
// handed out once through a link that expires), erasure (Art. 17: the
// person removed or pseudonymised across Portico's tables, their audit
// fields crypto-shredded, and the sources asked to erase their copies or
// staff given the task), and retention (per-kind periods from config, a
// periodic purge, and the record of processing behind `portico privacy
// report`).
//
// The personal data lives in many subsystems' tables. Each kind of it is
// a Part in a Registry: its name (the file it exports to), why it is kept
// and under which retention kind, and up to three functions: Export,
// Erase and Purge. Built-in parts cover users, contacts, cases, comments,
// actions, consents, sessions, tokens, login failures, mail logs, files,
// exports and audit events; a subsystem that adds personal data (the
// notifications) registers one Part more and export, erasure, purge and
// the report all pick it up.
//
// It must not change the audit log: erasure destroys keys
// (audit.ShredSubjects), never events, so `portico audit verify` passes
// after it. Source records stay in the source, which owns them; Portico
// only asks (connectors.ErasureRequester) or leaves staff a task, and
// keeps the erased records out of its cache while the source holds them
// (privacy_suppressed_record, honoured by the sync's upsert).
package privacy
