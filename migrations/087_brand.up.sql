-- The portal's branding as `portico brand set` stores it (internal/brand):
-- one row per tenant, each field overriding config's brand.<field> when
-- not NULL. The CLI checks every value before it writes (colours to WCAG
-- AA contrast, logos by their bytes); the checks here only keep the row
-- in the shapes the portal serves.
CREATE TABLE brand_setting (
    tenant_id     bigint PRIMARY KEY REFERENCES tenant (id),
    name          text,
    primary_color text CHECK (primary_color ~ '^#[0-9a-f]{6}$'),
    accent_color  text CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
    support_email text,
    support_phone text,
    support_url   text,
    -- An uploaded logo, or the one fetched once from logo_url.
    logo          bytea CHECK (octet_length(logo) <= 262144),
    logo_type     text CHECK (logo_type IN ('image/png', 'image/svg+xml', 'image/webp', 'image/jpeg')),
    logo_url      text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((logo IS NULL) = (logo_type IS NULL))
);

-- Logos named by config's brand.logo_url, fetched once per URL and served
-- from here from then on.
CREATE TABLE brand_logo_cache (
    url          text PRIMARY KEY,
    body         bytea NOT NULL CHECK (octet_length(body) <= 262144),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/svg+xml', 'image/webp', 'image/jpeg')),
    fetched_at   timestamptz NOT NULL DEFAULT now()
);

-- Serving processes read the setting again when it changes (channel
-- portico_brand, the tenant's id as payload).
CREATE FUNCTION brand_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('portico_brand', r.tenant_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER brand_setting_notify AFTER INSERT OR UPDATE OR DELETE ON brand_setting
    FOR EACH ROW EXECUTE FUNCTION brand_notify();
