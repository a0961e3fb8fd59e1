DROP TABLE auth_login_failure;
DROP TABLE auth_api_token;
DROP TABLE auth_user_token;
DROP TABLE auth_session;
DROP TABLE auth_web_session;
DROP TABLE auth_user;
