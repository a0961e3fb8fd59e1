// Package accounting is the connector for a QuickBooks-Online-style
// accounting system (API v3): OAuth2 with refresh-token rotation (the new
// refresh token is stored durably before the new access token is used),
// STARTPOSITION/MAXRESULTS queries ordered by MetaData.LastUpdatedTime
// with an overlap window, deletions from change data capture, and writes
// made idempotent by the requestid parameter and conflict-checked by
// SyncToken. Faults are read from both envelopes (fault/Fault), in JSON
// or XML, including faults inside an HTTP 200.
//
// Every request goes through the connection's shared HTTP client
// (connectors/httpclient).
package accounting
