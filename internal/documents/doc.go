// Package documents renders the portal's generated documents: an invoice
// (with its payments and the amount due), a quote (with its lines, for
// approval), an order confirmation and a case summary (with its history),
// as PDFs from one template per kind, in the portal's brand (name, logo,
// colours, support contact) and language (English, German).
//
// Rendering is deterministic: the same Source, Options and brand give the
// same bytes. Nothing inside comes from the wall clock; the PDF's creation
// date is the record's synced_at, which the document also prints. That is
// what lets a golden test compare bytes, and what lets the signing flow
// hash the exact PDF a signer was shown.
//
// It reads nothing itself: callers (internal/api, and through it the
// pages) read the record under the access policy and hand its view here.
// It holds no routes and no storage.
package documents
