DROP TRIGGER brand_setting_notify ON brand_setting;
DROP FUNCTION brand_notify();
DROP TABLE brand_logo_cache;
DROP TABLE brand_setting;
