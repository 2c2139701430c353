//! Extractors: the signed-in user, and the session's client.

use crate::session::{Logto, LogtoSession};
use crate::Error;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::{header, request::Parts};
use logto_isahc::IdTokenClaims;

fn logto(parts: &Parts) -> Result<&Logto, Error> {
    parts.extensions.get::<Logto>().ok_or(Error::MissingLayer)
}

impl<S: Send + Sync> FromRequestParts<S> for LogtoSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        logto(parts)?.session(&parts.headers).await
    }
}

/// The signed-in user: the claims of the session's ID token (verified when it was stored),
/// and the session for tokens and user info.
///
/// A handler taking `User` runs only for a signed-in visitor. Anyone else gets, for a page
/// (the request accepts `text/html`), a redirect to `/sign-in?return_to=<this page>` (after
/// the [route prefix](crate::LogtoBuilder::route_prefix), if any), and
/// for an API request `401 {"error": "Not authenticated"}`. Take `Option<User>` for a page
/// that serves both.
///
/// ```no_run
/// use axum::Json;
/// use logto_axum::{IdTokenClaims, User};
///
/// async fn me(user: User) -> Json<IdTokenClaims> {
///     Json(user.claims)
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct User {
    /// The ID token's claims.
    pub claims: IdTokenClaims,
    /// The user's session (tokens, user info, sign-out).
    pub session: LogtoSession,
}

impl User {
    async fn from_session(session: LogtoSession) -> Result<Option<User>, Error> {
        match session.id_token_claims().await {
            Ok(claims) => Ok(Some(User { claims, session })),
            Err(logto_isahc::Error::NotAuthenticated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the request is a page a browser navigates to (then a redirect to sign-in helps)
/// rather than an API call (which wants a 401).
fn wants_page(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let session = LogtoSession::from_request_parts(parts, state).await?;
        if let Some(user) = User::from_session(session).await? {
            return Ok(user);
        }
        let prefix = logto(parts)?.inner.route_prefix.clone();
        if !wants_page(parts) {
            return Err(logto_isahc::Error::NotAuthenticated.into());
        }
        // The path the browser asked for, before any `nest` stripped a prefix.
        let uri = match parts.extensions.get::<axum::extract::OriginalUri>() {
            Some(original) => &original.0,
            None => &parts.uri,
        };
        let here = uri.path_and_query().map_or("/", |p| p.as_str());
        let return_to: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Err(Error::SignInRequired {
            location: format!("{prefix}/sign-in?return_to={return_to}"),
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Error> {
        let session = LogtoSession::from_request_parts(parts, state).await?;
        User::from_session(session).await
    }
}
