DROP TABLE connection_credential;
