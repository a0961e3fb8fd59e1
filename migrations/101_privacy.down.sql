DROP TABLE privacy_suppressed_record;
DROP TABLE privacy_source_request;
DROP TABLE privacy_erasure;
DROP TABLE privacy_export;
DROP INDEX audit_event_subject;
DROP TABLE audit_subject_key;
