// Package wire holds what every connector's transport shares above the
// HTTP client: sending one JSON call with a bearer token and
// re-authenticating once on 401 (Caller), the opaque page tokens a pull
// continues with (EncodeToken, DecodeToken), and the HMAC check of
// signed webhooks (ValidHMAC), the multipart body of a file upload
// (Multipart, FileUpload); and what every connector keeps of its deps
// (Base) and tunes alike (Tuning). A connector keeps only what is
// vendor-specific: its URLs, its token endpoint, how it classifies an
// answer.
//
// Retries, the breaker and the quota are not here: they live in
// connectors/httpclient, which every Caller sends through.
package wire
