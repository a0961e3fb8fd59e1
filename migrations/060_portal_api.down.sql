DROP INDEX IF EXISTS record_payment_invoice_idx;
DROP INDEX IF EXISTS record_case_comment_idx;
DROP INDEX IF EXISTS record_article_search_idx;
DROP FUNCTION IF EXISTS record_article_search(jsonb);
