-- name: BrandSettingGet :one
SELECT * FROM brand_setting WHERE tenant_id = $1;

-- name: BrandSettingSet :exec
-- Sets the fields given (not NULL) and leaves the others; a new logo
-- (set_logo) replaces the old one with its type and source URL.
INSERT INTO brand_setting (tenant_id, name, primary_color, accent_color, support_email, support_phone, support_url,
                           logo, logo_type, logo_url)
VALUES (@tenant_id, sqlc.narg('name'), sqlc.narg('primary_color'), sqlc.narg('accent_color'), sqlc.narg('support_email'),
        sqlc.narg('support_phone'), sqlc.narg('support_url'), sqlc.narg('logo'), sqlc.narg('logo_type'), sqlc.narg('logo_url'))
ON CONFLICT (tenant_id) DO UPDATE SET
    name          = coalesce(EXCLUDED.name, brand_setting.name),
    primary_color = coalesce(EXCLUDED.primary_color, brand_setting.primary_color),
    accent_color  = coalesce(EXCLUDED.accent_color, brand_setting.accent_color),
    support_email = coalesce(EXCLUDED.support_email, brand_setting.support_email),
    support_phone = coalesce(EXCLUDED.support_phone, brand_setting.support_phone),
    support_url   = coalesce(EXCLUDED.support_url, brand_setting.support_url),
    logo          = CASE WHEN @set_logo::boolean THEN EXCLUDED.logo ELSE brand_setting.logo END,
    logo_type     = CASE WHEN @set_logo::boolean THEN EXCLUDED.logo_type ELSE brand_setting.logo_type END,
    logo_url      = CASE WHEN @set_logo::boolean THEN EXCLUDED.logo_url ELSE brand_setting.logo_url END,
    updated_at    = now();

-- name: BrandSettingReset :execrows
DELETE FROM brand_setting WHERE tenant_id = $1;

-- name: BrandLogoCacheGet :one
SELECT * FROM brand_logo_cache WHERE url = $1;

-- name: BrandLogoCachePut :exec
INSERT INTO brand_logo_cache (url, body, content_type) VALUES ($1, $2, $3)
ON CONFLICT (url) DO UPDATE SET body = EXCLUDED.body, content_type = EXCLUDED.content_type, fetched_at = now();

-- name: BrandSettingReplace :exec
-- Stores exactly the fields given: a NULL field follows config's brand
-- again. The logo is replaced when set_logo, dropped when drop_logo, else
-- kept.
INSERT INTO brand_setting (tenant_id, name, primary_color, accent_color, support_email, support_phone, support_url,
                           logo, logo_type, logo_url)
VALUES (@tenant_id, sqlc.narg('name'), sqlc.narg('primary_color'), sqlc.narg('accent_color'), sqlc.narg('support_email'),
        sqlc.narg('support_phone'), sqlc.narg('support_url'), sqlc.narg('logo'), sqlc.narg('logo_type'), sqlc.narg('logo_url'))
ON CONFLICT (tenant_id) DO UPDATE SET
    name          = EXCLUDED.name,
    primary_color = EXCLUDED.primary_color,
    accent_color  = EXCLUDED.accent_color,
    support_email = EXCLUDED.support_email,
    support_phone = EXCLUDED.support_phone,
    support_url   = EXCLUDED.support_url,
    logo          = CASE WHEN @set_logo::boolean OR @drop_logo::boolean THEN EXCLUDED.logo ELSE brand_setting.logo END,
    logo_type     = CASE WHEN @set_logo::boolean OR @drop_logo::boolean THEN EXCLUDED.logo_type ELSE brand_setting.logo_type END,
    logo_url      = CASE WHEN @set_logo::boolean OR @drop_logo::boolean THEN EXCLUDED.logo_url ELSE brand_setting.logo_url END,
    updated_at    = now();
