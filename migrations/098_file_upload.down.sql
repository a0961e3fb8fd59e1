DROP TABLE file_upload_part;
DROP TABLE file_upload;
