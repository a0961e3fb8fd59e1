DROP TABLE signature;
DROP TABLE approval_state;
