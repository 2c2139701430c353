//! Fixtures shared by the fuzz targets: a local Logto-style provider (`http://127.0.0.1:3001`)
//! and the crate's fixed example provider (whose ID token is really signed).
use logto_proto::{adapter::*, resource::*};
use logto_proto::{Config, UnixTime};

/// Endpoint of the local Logto-style provider the parser targets use.
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:3001";
/// Its issuer.
pub const LOCAL_ISSUER: &str = "http://127.0.0.1:3001/oidc";
/// App id used with the local provider (not the example's `app-id`, so the example's
/// validly signed ID token never passes the audience check).
pub const LOCAL_APP_ID: &str = "fuzz-app";
/// Redirect URI of every pending sign-in.
pub const REDIRECT_URI: &str = "http://127.0.0.1:3000/callback";
/// Fixed clock: the time the example ID token was issued.
pub const T0: u64 = 1_767_225_600;

/// A Logto-style discovery document for the local provider.
pub const LOCAL_DISCOVERY: &str = r#"{"issuer":"http://127.0.0.1:3001/oidc","authorization_endpoint":"http://127.0.0.1:3001/oidc/auth","token_endpoint":"http://127.0.0.1:3001/oidc/token","userinfo_endpoint":"http://127.0.0.1:3001/oidc/me","jwks_uri":"http://127.0.0.1:3001/oidc/jwks","end_session_endpoint":"http://127.0.0.1:3001/oidc/session/end","revocation_endpoint":"http://127.0.0.1:3001/oidc/token/revocation","id_token_signing_alg_values_supported":["ES384"],"authorization_response_iss_parameter_supported":true}"#;

/// Fixed public keys: the example ES384 key and an RS256 key generated once.
pub const FIXED_JWKS: &str = concat!(
    r#"{"keys":[{"alg":"ES384","crv":"P-384","kid":"example-key","kty":"EC","use":"sig","x":"3B3SgYfI72shSfnErRDc0r8Z_clVoxpDFNYlVzwGY_xeOLQwSharByPUA36Ee-_Z","y":"gyKUYU9EOZanlxnUl9oggFa0kJzpbeS50OEZwr-SjnnFfDka-6wOVAZezQP4eyxw"},"#,
    r#"{"kty":"RSA","alg":"RS256","use":"sig","kid":"fuzz-rsa","n":"vAtJYnmjM_ClvBUFqpFf0YqldxqBa6BTAwNwGuygPOTTj3L2fN2wu_w3ZhhjtSTA3F-E_Fj12AnoI_xlfgPlqahK31aDuABgK0n254w4-PEjW_QcuiUraGb4uvGZh_tnC46WyqP7QnUwg_PlEZdT7R0aDCrl_q5v7Rl2de4OYP7UChkeDlRje2Kz-n39-wYXvcB-97hVvRItaBlSrHaUbkMTwKSTARgUOnQi11q3WXm7-Jw6IbRnE8Bkz1yJRX8aDuyYRWkZkoLAl7MXrPW0qs-jZPxsadIKAT-YAxoOC6VKHVrad84y4Ltm_pEeZ5iBUQZsUDLc4jWWSY21vGBk7w","e":"AQAB"}"#,
    "]}"
);

/// Config for the local provider (organizations scope and one API resource).
pub fn local_config() -> Config {
    Config::builder(LOCAL_ENDPOINT, LOCAL_APP_ID)
        .app_secret("fuzz-secret")
        .allow_insecure_http(true)
        .scopes(["email", "urn:logto:scope:organizations"])
        .resources(["https://api.example.com"])
        .build()
        .expect("local config")
}

/// Config matching `logto_proto::example` (tenant.logto.app, `app-id`).
pub fn example_config() -> Config {
    Config::builder("https://tenant.logto.app", "app-id")
        .app_secret("app-secret")
        .scopes(["email", "urn:logto:scope:organizations"])
        .resources(["https://api.example.com"])
        .build()
        .expect("example config")
}

/// The entropy the example's state/nonce come from.
pub fn fixed_entropy() -> SignInEntropy {
    SignInEntropy::from_bytes([7; 96])
}

/// A cache holding the local provider's metadata (fetched at `T0`).
pub fn local_cache(config: &Config) -> ProviderCache {
    let mut cache = ProviderCache::new();
    cache.metadata = Some(
        ProviderMetadata::parse(config, LOCAL_DISCOVERY.as_bytes(), UnixTime::from_secs(T0))
            .expect("local discovery"),
    );
    cache
}

/// The fixed JWKS, parsed.
pub fn fixed_jwks() -> Jwks {
    Jwks::parse(FIXED_JWKS.as_bytes(), UnixTime::from_secs(T0)).expect("fixed jwks")
}

/// The `state` query parameters of a URL (None if it does not parse).
pub fn state_params(url: &str) -> Option<Vec<String>> {
    let u = url::Url::parse(url).ok()?;
    Some(
        u.query_pairs()
            .filter(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .collect(),
    )
}

/// The crate-level example's fixed provider answers (the ID token is really signed).
pub mod example {
    include!("../../logto-proto/tests/fixtures/example.rs");
}
