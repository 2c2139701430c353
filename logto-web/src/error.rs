//! The crate's error, and how it answers a request.

use crate::Answer;
use logto_proto::ClientError;
use logto_proto::Untrusted;
use std::fmt;

/// Everything that can fail in a Logto route, extractor or session call of a web app (the
/// error of logto-axum and logto-actix alike).
///
/// As a response ([`answer`](Error::answer); `IntoResponse` with the `axum` feature,
/// `ResponseError` with `actix`) it answers with [`http_status`](Error::http_status) and a
/// JSON body naming the [`kind`](Error::kind) only, `{"error": "<kind>"}` (`{"error": "Not
/// authenticated"}` for a visitor who is not signed in); the details go to the server log
/// (`tracing`), never to the browser.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A Logto client call failed (not signed in, provider, transport, storage, ...): the
    /// [`ClientError`](crate::ClientError) of a session call, which converts into this.
    Client(ClientError),
    /// A page needs a signed-in user: the answer redirects to `location` (the sign-in route,
    /// with a `return_to` back to the page).
    SignInRequired {
        /// Where the browser is sent.
        location: String,
    },
    /// A `return_to` that is not a path of this app (another origin, a scheme, `//host`).
    ReturnToRejected {
        /// The value given (a URL the user can see anyway; no secret).
        return_to: String,
    },
    /// A sign-out coming from another site (`Sec-Fetch-Site: cross-site`, or an `Origin`
    /// that is not the app's).
    CrossSiteRequest {
        /// The request's `Origin` header, if any.
        origin: Option<String>,
        /// The request's `Sec-Fetch-Site` header, if any.
        fetch_site: Option<String>,
        /// The app's origin it was compared with.
        expected_origin: String,
    },
    /// The base URL given to [`WebBuilder::new`](crate::WebBuilder::new) is not an http(s)
    /// origin such as `https://app.example.com`.
    InvalidBaseUrl {
        /// The value given.
        base_url: String,
    },
    /// A path given to the builder ([`after_sign_out`](crate::WebBuilder::after_sign_out),
    /// [`route_prefix`](crate::WebBuilder::route_prefix)) is not a path of the app (`/...`).
    InvalidPath {
        /// The value given.
        path: String,
    },
    /// A handler asked for a Logto extractor in an app without Logto's state (axum: `Logto::layer`,
    /// actix-web: `Logto::configure`).
    MissingLayer,
    /// An organization-token route has no path parameter of that name (see
    /// [`ApiProtection::organization_param`](crate::ApiProtection::organization_param)).
    MissingOrganizationParam {
        /// The parameter's name.
        name: String,
    },
    /// The request's path does not decode (a path parameter that is not UTF-8 once
    /// percent-decoded): the client's fault, 400.
    MalformedPath {
        /// Why, cut short (the path is the client's text).
        reason: String,
    },
    /// The [sign-in secret](crate::WebBuilder::sign_in_secret) is shorter than 32 bytes.
    InvalidSignInSecret {
        /// Its length in bytes (never the secret).
        length: usize,
    },
    /// The session store setting (`LOGTO_SESSION_STORE`) names no store this build has.
    InvalidSessionStore {
        /// The value given, its password replaced by `***`.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// A short, stable name for the failure: the client error's
    /// [`kind`](logto_proto::ClientError::kind), or `sign_in_required`, `return_to_rejected`,
    /// `cross_site_request`, `invalid_base_url`, `invalid_path`, `missing_layer`,
    /// `missing_organization_param`, `malformed_path`, `invalid_sign_in_secret`,
    /// `invalid_session_store`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Client(e) => e.kind(),
            Error::SignInRequired { .. } => "sign_in_required",
            Error::ReturnToRejected { .. } => "return_to_rejected",
            Error::CrossSiteRequest { .. } => "cross_site_request",
            Error::InvalidBaseUrl { .. } => "invalid_base_url",
            Error::InvalidPath { .. } => "invalid_path",
            Error::MissingLayer => "missing_layer",
            Error::InvalidSessionStore { .. } => "invalid_session_store",
            Error::MissingOrganizationParam { .. } => "missing_organization_param",
            Error::MalformedPath { .. } => "malformed_path",
            Error::InvalidSignInSecret { .. } => "invalid_sign_in_secret",
        }
    }

    /// The HTTP status this error answers with: the client error's
    /// [`http_status`](logto_proto::ClientError::http_status) (401 sign in again, 502/504 the
    /// provider failed, 503 busy, ...), 303 for a redirect to sign-in, 400 for a rejected
    /// `return_to`, 403 for a cross-site sign-out, 500 for the app's own set-up.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Client(e) => e.http_status(),
            Error::SignInRequired { .. } => 303,
            Error::ReturnToRejected { .. } | Error::MalformedPath { .. } => 400,
            Error::CrossSiteRequest { .. } => 403,
            Error::InvalidBaseUrl { .. }
            | Error::InvalidPath { .. }
            | Error::MissingLayer
            | Error::InvalidSessionStore { .. }
            | Error::MissingOrganizationParam { .. }
            | Error::InvalidSignInSecret { .. } => 500,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Client(e) => write!(f, "{e}"),
            Error::SignInRequired { location } => write!(f, "sign-in required (to {location})"),
            Error::ReturnToRejected { return_to } => {
                write!(
                    f,
                    "return_to {} is not a path of this app",
                    Untrusted(return_to)
                )
            }
            Error::InvalidSignInSecret { length } => write!(
                f,
                "the sign-in secret has {length} bytes; at least {} random bytes are needed",
                crate::sign_in_cookie::MIN_SECRET_LEN
            ),
            Error::MalformedPath { reason } => {
                write!(
                    f,
                    "the request's path does not decode: {}",
                    Untrusted(reason)
                )
            }
            Error::CrossSiteRequest {
                origin,
                fetch_site,
                expected_origin,
            } => write!(
                f,
                "cross-site request refused (Origin {}, Sec-Fetch-Site {}; the app is \
                 {expected_origin})",
                Untrusted(origin.as_deref().unwrap_or("")),
                Untrusted(fetch_site.as_deref().unwrap_or("")),
            ),
            Error::InvalidBaseUrl { base_url } => write!(
                f,
                "base URL `{base_url}` is not an http(s) origin like https://app.example.com"
            ),
            Error::InvalidPath { path } => {
                write!(
                    f,
                    "`{path}` is not a path of the app (like `/` or `/signed-out`)"
                )
            }
            Error::MissingLayer => f.write_str(
                "a Logto extractor ran without Logto's state: add `.layer(logto.layer())` \
                 (and `.layer(api.layer())` for `LogtoApi`) to the router (axum), or \
                 `.configure(logto.configure())` (and `.app_data(api.clone())`) to the app \
                 (actix-web)",
            ),
            Error::MissingOrganizationParam { name } => write!(
                f,
                "the route has no path parameter `{name}` naming the organization"
            ),
            Error::InvalidSessionStore { value, reason } => {
                write!(f, "session store `{value}`: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: Into<ClientError>> From<E> for Error {
    fn from(e: E) -> Self {
        Error::Client(e.into())
    }
}

impl Error {
    /// What the error answers: a redirect to sign-in for [`Error::SignInRequired`], the
    /// RFC 6750 refusal for a refused bearer token, otherwise [`http_status`](Error::http_status)
    /// with `{"error": "<kind>"}` (`"Not authenticated"` for a visitor who is not signed in)
    /// and `Cache-Control: no-store`. The details go to the log (`tracing`), never to the
    /// answer.
    #[cfg_attr(not(feature = "tracing"), allow(clippy::if_same_then_else))]
    pub fn answer(&self) -> Answer {
        if let Error::SignInRequired { location } = self {
            return Answer::redirect(location);
        }
        if let Error::Client(ClientError::Protocol(logto_proto::Error::AccessToken(e))) = self {
            return bearer_refusal(e);
        }
        let status = self.http_status();
        let error = match self {
            Error::Client(ClientError::NotAuthenticated) => "Not authenticated",
            other => other.kind(),
        };
        if status >= 500 {
            event!(error, kind = self.kind(), status, "{self}");
        } else {
            event!(info, kind = self.kind(), status, "{self}");
        }
        Answer::json(status, &serde_json::json!({ "error": error }))
            .header("cache-control", "no-store".into())
    }
}

/// An API request whose bearer token was refused, as RFC 6750 says: 401 `invalid_token` or
/// 403 `insufficient_scope` with the `WWW-Authenticate` challenge, and the code as the JSON
/// body's `error`.
fn bearer_refusal(e: &logto_proto::errors::AccessTokenError) -> Answer {
    // The core reported the refusal (`tracing`) where it was decided.
    let code = e.error_code().unwrap_or("invalid_token");
    Answer::json(e.http_status(), &serde_json::json!({ "error": code }))
        .header("www-authenticate", e.www_authenticate())
        .header("cache-control", "no-store".into())
}
