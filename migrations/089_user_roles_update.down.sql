REVOKE UPDATE (roles) ON auth_user FROM portico_api;
