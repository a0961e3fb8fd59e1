REVOKE ALL ON tenant FROM portico_api;
REVOKE USAGE ON SCHEMA public FROM portico_api;
