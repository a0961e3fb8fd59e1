// Package inventory is the connector for a Square-style commerce system
// (API v2): catalog items and variations, inventory counts per location,
// and orders with line items and shipment fulfilments. It pulls with
// Square's opaque cursors from an updated-since time less an overlap
// window, writes with an idempotency_key on every call, and uses object
// versions for optimistic concurrency (VERSION_MISMATCH becomes a
// connectors.ConflictError).
//
// Every request goes through the connection's shared HTTP client
// (connectors/httpclient).
package inventory
