//! Fixed provider answers for the crate-level example: an ES384 key and an ID token
//! signed once with it for `SignInEntropy::from_bytes([7; 96])` at `1_767_225_600`.

/// Discovery document.
pub const DISCOVERY: &str = r#"{"issuer":"https://tenant.logto.app/oidc","authorization_endpoint":"https://tenant.logto.app/oidc/auth","token_endpoint":"https://tenant.logto.app/oidc/token","userinfo_endpoint":"https://tenant.logto.app/oidc/me","jwks_uri":"https://tenant.logto.app/oidc/jwks","end_session_endpoint":"https://tenant.logto.app/oidc/session/end","revocation_endpoint":"https://tenant.logto.app/oidc/token/revocation","id_token_signing_alg_values_supported":["ES384"],"authorization_response_iss_parameter_supported":true}"#;
/// JWKS with the example key.
pub const JWKS: &str = r#"{"keys":[{"alg":"ES384","crv":"P-384","kid":"example-key","kty":"EC","use":"sig","x":"3B3SgYfI72shSfnErRDc0r8Z_clVoxpDFNYlVzwGY_xeOLQwSharByPUA36Ee-_Z","y":"gyKUYU9EOZanlxnUl9oggFa0kJzpbeS50OEZwr-SjnnFfDka-6wOVAZezQP4eyxw"}]}"#;
/// Token response with an ID token signed by the example key.
pub const TOKEN_RESPONSE: &str = r#"{"access_token":"opaque-access-token","expires_in":3600,"id_token":"eyJhbGciOiJFUzM4NCIsImtpZCI6ImV4YW1wbGUta2V5IiwidHlwIjoiSldUIn0.eyJhdWQiOiJhcHAtaWQiLCJleHAiOjE3NjcyMjkyMDAsImlhdCI6MTc2NzIyNTYwMCwiaXNzIjoiaHR0cHM6Ly90ZW5hbnQubG9ndG8uYXBwL29pZGMiLCJuYW1lIjoiQWxpY2UiLCJub25jZSI6IkJ3Y0hCd2NIQndjSEJ3Y0hCd2NIQndjSEJ3Y0hCd2NIQndjSEJ3Y0hCd2MiLCJzdWIiOiJ1c2VyLTEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.UBZpxpkOOiz4pbtxeagwRjEWvmgi2ZTFpaZW-t-m1pKDxoLRWRVX8YUlO9d-IGO8Ec2HwdcHzX7w4PTsHoVBgRehWUGBSmXRypCWIbahARNJD1Kxl1YI9CMP3XKGbYU7","refresh_token":"refresh-token","scope":"openid offline_access profile","token_type":"Bearer"}"#;
/// The state `SignInEntropy::from_bytes([7; 96])` yields.
pub const STATE: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";
