DROP TRIGGER notice_unread_notify ON notice;
DROP FUNCTION notice_unread_notify();
