DROP TABLE tenant;
