//! Extractors: the signed-in user, and the session's client.

use crate::session::{Logto, LogtoSession};
use crate::Error;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::{header, request::Parts, HeaderMap};
use logto_proto::IdTokenClaims;

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
/// visit, a redirect to `/sign-in?return_to=<this page>` (after the
/// [route prefix](crate::LogtoBuilder::route_prefix), if any), and for a script's call
/// `401 {"error": "Not authenticated"}`. A visit is `Sec-Fetch-Mode: navigate`, an `Accept`
/// with `text/html`, or a request with neither Fetch Metadata nor a specific `Accept` (a
/// link opened with curl); a script call is `Sec-Fetch-Mode` `cors`, `same-origin` or
/// `no-cors`, an `X-Requested-With` header, or `Accept: application/json`. Take
/// [`ApiUser`] for an API route that always answers 401, and `Option<User>` for a page that
/// serves both kinds of visitor.
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
            Err(logto_proto::ClientError::NotAuthenticated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the request is a page visit (then a redirect to sign-in helps) rather than a
/// script's call (which wants a 401), decided as web frameworks do:
/// - a browser's own word first: `Sec-Fetch-Mode: navigate` is a visit; `cors`,
///   `same-origin`, `no-cors` or `websocket` a script (or a subresource);
/// - `X-Requested-With` (set by script libraries) is a script;
/// - then `Accept`: with `text/html` a visit; with `application/json` a script;
/// - a request with neither Fetch Metadata nor a specific `Accept` (none, or `*/*`, as curl
///   sends) is a visit, as Devise treats `*/*`; any other specific `Accept` is a script.
pub(crate) fn is_page_visit(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(mode) = text("sec-fetch-mode") {
        return mode.trim().eq_ignore_ascii_case("navigate");
    }
    if headers.contains_key("x-requested-with") {
        return false;
    }
    let Some(accept) = text(header::ACCEPT.as_str()) else {
        return true;
    };
    let media_types: Vec<String> = accept
        .split(',')
        .map(|item| {
            item.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|media_type| !media_type.is_empty())
        .collect();
    if media_types
        .iter()
        .any(|m| m == "text/html" || m == "application/xhtml+xml")
    {
        return true;
    }
    if media_types
        .iter()
        .any(|m| m == "application/json" || m.ends_with("+json"))
    {
        return false;
    }
    media_types.iter().all(|m| m == "*/*")
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let session = LogtoSession::from_request_parts(parts, state).await?;
        if let Some(user) = User::from_session(session).await? {
            return Ok(user);
        }
        let prefix = logto(parts)?.inner.route_prefix.clone();
        if !is_page_visit(&parts.headers) {
            return Err(logto_proto::ClientError::NotAuthenticated.into());
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

/// The signed-in user for an API route: like [`User`], but anyone else always gets
/// `401 {"error": "Not authenticated"}`, whatever the request looks like (no redirect to
/// sign-in). Derefs to [`User`].
///
/// ```no_run
/// use axum::Json;
/// use logto_axum::{ApiUser, IdTokenClaims};
///
/// async fn claims(user: ApiUser) -> Json<IdTokenClaims> {
///     Json(user.into_inner().claims)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ApiUser(User);

impl ApiUser {
    /// The user.
    pub fn into_inner(self) -> User {
        self.0
    }
}

impl std::ops::Deref for ApiUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let session = LogtoSession::from_request_parts(parts, state).await?;
        match User::from_session(session).await? {
            Some(user) => Ok(ApiUser(user)),
            None => Err(logto_proto::ClientError::NotAuthenticated.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_page_visit;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn page_visits_and_script_calls_are_told_apart() {
        let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        for visit in [
            headers(&[]),
            headers(&[("accept", "*/*")]),
            headers(&[("accept", browser_accept)]),
            headers(&[("accept", "TEXT/HTML")]),
            headers(&[("sec-fetch-mode", "navigate"), ("accept", "*/*")]),
            headers(&[
                ("sec-fetch-mode", "navigate"),
                ("accept", "application/json"),
            ]),
        ] {
            assert!(is_page_visit(&visit), "{visit:?}");
        }
        for script in [
            headers(&[("accept", "application/json")]),
            headers(&[("accept", "application/problem+json, */*")]),
            headers(&[("accept", "image/png")]),
            headers(&[("x-requested-with", "XMLHttpRequest")]),
            headers(&[("x-requested-with", "XMLHttpRequest"), ("accept", "*/*")]),
            headers(&[("sec-fetch-mode", "cors"), ("accept", "*/*")]),
            headers(&[("sec-fetch-mode", "same-origin")]),
            headers(&[("sec-fetch-mode", "no-cors"), ("accept", browser_accept)]),
        ] {
            assert!(!is_page_visit(&script), "{script:?}");
        }
    }
}
