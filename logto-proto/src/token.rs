//! Token-endpoint requests (code exchange, refresh, revocation), the token response, and the
//! error body every Logto endpoint answers with.

use crate::config::{is_loopback, redact_credentials, ClientAuth, Config};
use crate::error::{DiscoveryError, ProviderError, ResponseError};
use crate::http::HttpRequest;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use std::fmt;
use url::{form_urlencoded, Url};

/// A successful token response.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token (opaque or JWT).
    pub access_token: Secret,
    /// Lifetime in seconds, if given.
    pub expires_in: Option<u64>,
    /// Granted scopes, space-separated.
    pub scope: Option<String>,
    /// The ID token (always on code exchange; on refresh when `openid` was granted).
    pub id_token: Option<Secret>,
    /// The refresh token: new on rotation, else the same value again (or absent).
    pub refresh_token: Option<Secret>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_id_token", &self.id_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// Parses a 2xx token response body; `token_type` must be `Bearer`.
    ///
    /// ```
    /// let r = logto_proto::internals::TokenResponse::parse(br#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#).unwrap();
    /// assert_eq!(r.expires_in, Some(3600));
    /// assert!(logto_proto::internals::TokenResponse::parse(br#"{"access_token":"at","token_type":"mac"}"#).is_err());
    /// ```
    pub fn parse(body: &[u8]) -> Result<TokenResponse, ResponseError> {
        #[derive(Deserialize)]
        struct Raw {
            access_token: String,
            token_type: String,
            #[serde(default)]
            expires_in: Option<u64>,
            #[serde(default)]
            scope: Option<String>,
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            refresh_token: Option<String>,
        }
        let raw: Raw = serde_json::from_slice(body).map_err(|e| ResponseError::Malformed {
            what: "token",
            reason: crate::error::json_reason(&e),
        })?;
        if !raw.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ResponseError::UnexpectedTokenType {
                found: raw.token_type,
            });
        }
        if raw.access_token.is_empty() {
            return Err(ResponseError::Malformed {
                what: "token",
                reason: "empty access_token".into(),
            });
        }
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty()).map(Secret::new);
        Ok(TokenResponse {
            access_token: Secret::new(raw.access_token),
            expires_in: raw.expires_in,
            scope: raw.scope,
            id_token: non_empty(raw.id_token),
            refresh_token: non_empty(raw.refresh_token),
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A form POST to the token or revocation endpoint (`(metadata field, URL)`),
/// authenticated as the config says. The app secret never goes over `http://` off
/// loopback, whatever the config allows for the endpoint itself.
pub(crate) fn client_request(
    config: &Config,
    (name, endpoint): (&'static str, &str),
    params: &[(&str, &str)],
) -> Result<HttpRequest, DiscoveryError> {
    let sends_secret = config.client_auth() != ClientAuth::None && config.app_secret().is_some();
    if sends_secret && !is_secure_endpoint(endpoint) {
        return Err(DiscoveryError::InsecureEndpoint {
            name,
            url: redact_credentials(endpoint),
        });
    }
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.append_pair("client_id", config.app_id());
    let secret = config.app_secret().map(Secret::expose);
    if let (ClientAuth::ClientSecretPost, Some(secret)) = (config.client_auth(), secret) {
        form.append_pair("client_secret", secret);
    }
    let mut request = HttpRequest::post_form(endpoint, form.finish());
    if let (ClientAuth::ClientSecretBasic, Some(secret)) = (config.client_auth(), secret) {
        // RFC 6749 §2.3.1: form-urlencode id and secret, then base64 `id:secret`.
        let credentials = format!("{}:{}", form_encode(config.app_id()), form_encode(secret));
        request.headers.push((
            "authorization".into(),
            format!("Basic {}", STANDARD.encode(credentials)),
        ));
    }
    Ok(request)
}

/// `https://`, or `http://` on a loopback host.
fn is_secure_endpoint(endpoint: &str) -> bool {
    Url::parse(endpoint).is_ok_and(|url| match url.scheme() {
        "https" => true,
        "http" => is_loopback(&url),
        _ => false,
    })
}

// An error answer, as every Logto endpoint gives it (RFC 6749 5.2, plus Logto's own `code`
// and `message`).

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    error_description: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

fn as_string(v: Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

impl ProviderError {
    /// Reads an error response. Any body is accepted: fields that are missing or not strings
    /// are left out, a body that is not JSON gives the status alone.
    ///
    /// ```
    /// use logto_proto::errors::ProviderError;
    /// let e = ProviderError::from_response(400, br#"{"code":"oidc.invalid_grant","message":"grant request is invalid","error":"invalid_grant","error_description":"grant request is invalid"}"#)
    ///     .at("https://tenant.logto.app/oidc/token");
    /// assert_eq!(e.error.as_deref(), Some("invalid_grant"));
    /// assert_eq!(e.code.as_deref(), Some("oidc.invalid_grant"));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "HTTP 400 `invalid_grant` from https://tenant.logto.app/oidc/token: grant request is invalid"
    /// );
    /// ```
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        match parsed {
            Some(b) => ProviderError {
                status,
                error: as_string(b.error),
                error_description: as_string(b.error_description),
                code: as_string(b.code),
                message: as_string(b.message),
                endpoint: None,
            },
            None => ProviderError {
                status,
                ..ProviderError::default()
            },
        }
    }
}
