DROP FUNCTION report_active_users(bigint, date, date, text);
DROP TABLE portal_event;
