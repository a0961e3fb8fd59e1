// Package files owns uploaded files: the checks an upload passes (size
// cap, declared type against the sniffed content, the object's allow-list,
// the file name, zero bytes), their content behind a small blob-store
// interface (Blobs; the embedded default keeps it in PostgreSQL as chunked
// bytea, see migrations 092 and 113), the malware scan through clamd's
// INSTREAM protocol behind Scanner, and reading a stored file back for a
// download.
//
// Resumable uploads (the tus protocol, served by the API with tusd) append
// each part, in its own transaction, to the chunks of a pending file
// (state scanning, never listed, served or sent) through TusStore, with
// the SHA-256 so far; when the last byte arrives, Complete gives those
// chunks Store's checks and scan and finishes the file in place, or
// deletes it: the content is written once. Sweep deletes the uploads left
// unfinished with their pending files.
//
// The directory and S3 stores write content before its row commits; a
// crash between the two leaves content no row names. Their Lister lets
// SweepOrphans, a periodic worker job (RegisterSweep), remove it once it
// is older than any upload takes, with the directory's leftover temporary
// files.
//
// It streams: an upload is read once, in pieces, into the store and the
// scanner at the same time, never whole into memory. A plain upload, its
// content and its scan result commit in one transaction, so an interrupted
// upload leaves nothing; a resumable one keeps what arrived, pending,
// until it completes, is terminated or expires. It does not decide who may upload or download:
// callers (api, web) check the parent record under the user's scope first,
// and it never writes to the source: the write-back's attach_file action
// names a file by id, and the worker streams it through the connector.
package files
