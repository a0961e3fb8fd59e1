DROP TABLE file_chunk;
DROP TABLE file;
