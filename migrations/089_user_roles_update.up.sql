-- An account admin changes the roles of their account's users
-- (auth.Service.SetAccountUserRoles), as portico_api. The cache trigger
-- already drops a user whose roles change.
GRANT UPDATE (roles) ON auth_user TO portico_api;
