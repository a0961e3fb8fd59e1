// Package salesforce is the connector for a Salesforce-style CRM (REST API
// v59.0): OAuth2 tokens (client credentials or refresh token), SOQL pulls
// ordered by SystemModstamp with an overlap window, deletions from the
// getDeleted resource, single-record reads, and writes that are
// idempotent through an external-id upsert on Portico_Action_Id__c and
// conflict-checked with If-Unmodified-Since.
//
// Every request goes through the connection's shared HTTP client
// (connectors/httpclient); this package only knows Salesforce's URLs,
// bodies and error codes.
package salesforce
