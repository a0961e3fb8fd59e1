-- The portal API's related-record and search paths over the cache.

-- Knowledge search: title ranks above summary, summary above body. An
-- immutable function so that the index and the queries share one
-- expression; no stored column, so other objects' rows cost nothing.
CREATE FUNCTION record_article_search(data jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, coalesce(data->'fields'->>'title', '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(data->'fields'->>'summary', '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(data->'fields'->>'body', '')), 'C')
$$;
GRANT EXECUTE ON FUNCTION record_article_search(jsonb) TO portico_api;

CREATE INDEX record_article_search_idx ON record USING gin (record_article_search(data))
    WHERE object = 'knowledge_article' AND deleted_at IS NULL AND NOT hidden;

-- A case's comments.
CREATE INDEX record_case_comment_idx ON record (tenant_id, (data->'fields'->>'case_id'))
    WHERE object = 'case_comment' AND deleted_at IS NULL AND NOT hidden;

-- An invoice's payments.
CREATE INDEX record_payment_invoice_idx ON record USING gin ((data->'fields'->'invoice_ids'))
    WHERE object = 'payment' AND deleted_at IS NULL AND NOT hidden;
