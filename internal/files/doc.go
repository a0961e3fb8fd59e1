// Package files owns uploaded files: the checks an upload passes (size
// cap, declared type against the sniffed content, the object's allow-list,
// the file name, zero bytes), their content behind a small blob-store
// interface (Blobs; the embedded default keeps it in PostgreSQL as chunked
// bytea, see migration 092), the malware scan through clamd's INSTREAM
// protocol behind Scanner, and reading a stored file back for a download.
//
// It streams: an upload is read once, in pieces, into the store and the
// scanner at the same time, never whole into memory. The upload, its
// content and its scan result commit in one transaction, so an interrupted
// upload leaves nothing. It does not decide who may upload or download:
// callers (api, web) check the parent record under the user's scope first,
// and it never writes to the source: the write-back's attach_file action
// names a file by id, and the worker streams it through the connector.
package files
