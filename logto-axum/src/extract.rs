//! Extractors: the signed-in user, and the session's client.

use crate::logto::Logto;
use crate::routes::request_headers;
use crate::session::{ApiUser, LogtoSession, User};
use crate::Error;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use logto_web::Guard;

fn logto(parts: &Parts) -> Result<&Logto, Error> {
    parts.extensions.get::<Logto>().ok_or(Error::MissingLayer)
}

impl<S: Send + Sync> FromRequestParts<S> for LogtoSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let session = logto(parts)?
            .session(&request_headers(&parts.headers))
            .await?;
        Ok(LogtoSession(session))
    }
}

/// The request's signed-in user, or the refusal `guard` says.
async fn require_signed_in(parts: &Parts, guard: Guard<'_>) -> Result<User, Error> {
    let headers = request_headers(&parts.headers);
    let user = logto(parts)?.require_signed_in(&headers, guard).await?;
    Ok(User::from_signed_in(user))
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        // The path the browser asked for, before any `nest` stripped a prefix.
        let uri = match parts.extensions.get::<axum::extract::OriginalUri>() {
            Some(original) => &original.0,
            None => &parts.uri,
        };
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        require_signed_in(parts, Guard::Page { path_and_query }).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Error> {
        let user = logto(parts)?
            .signed_in(&request_headers(&parts.headers))
            .await?;
        Ok(user.map(User::from_signed_in))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        require_signed_in(parts, Guard::Api).await.map(ApiUser)
    }
}
