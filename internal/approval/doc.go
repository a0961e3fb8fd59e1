// Package approval owns an approval request's life and the terms a
// signer agrees to: the state machine (requested -> viewed -> approved |
// rejected | expired, withdrawn by staff at the source), each transition
// stored and audited in one transaction, the signatures kept with their
// evidence, and the versioned consent statement in English and German.
//
// It decides nothing about who sees a request or may decide it (the
// access policy and the mapping's decide roles do, in api and writeback),
// it writes nothing to the source (a decision is a write-back action),
// and it never puts personal data into the audit log: the evidence stays
// in the signature table and the sealed PDF.
package approval
