DROP FUNCTION source_budget_grant(source_budget, integer, boolean);
DROP TABLE source_budget;
DROP FUNCTION source_budget_refill(float8, float8, float8, timestamptz);
DROP FUNCTION source_budget_fits(float8, float8, float8, float8);
