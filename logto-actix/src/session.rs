//! The request's Logto session (the client of the browser session the cookie names) and its
//! signed-in user.

use crate::routes::{logto, request_headers};
use crate::Error;
use actix_web::dev::Payload;
use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// The future of an extractor of this crate.
pub(crate) type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

logto_web::__framework_session! {
    /// The request's Logto session: a [`LogtoClient`](crate::LogtoClient) (through `Deref`) for
    /// tokens, user info and the ID token of the browser session the cookie names. Without a
    /// session (no cookie, or an expired one) it is a client that is not signed in.
    ///
    /// ```no_run
    /// use logto_actix::{Error, LogtoSession};
    ///
    /// async fn api_token(session: LogtoSession) -> Result<String, Error> {
    ///     Ok(session.access_token("https://api.example.com").await?)
    /// }
    /// ```
    pub struct LogtoSession;
    /// The signed-in user: the claims of the session's ID token (verified when it was stored),
    /// and the session for tokens and user info.
    ///
    /// A handler taking `User` runs only for a signed-in visitor. Anyone else gets, for a page
    /// visit, a redirect to `/sign-in?return_to=<this page>` (after the [route
    /// prefix](crate::logto_web::WebBuilder::route_prefix), if any), and for a script's call `401
    /// {"error": "Not authenticated"}`, as [`is_page_visit`](crate::logto_web::is_page_visit) tells
    /// them apart. Take [`ApiUser`](crate::ApiUser) for an API route that always answers 401, and
    /// [`OptionalUser`](crate::OptionalUser) for a page that serves both kinds of visitor.
    ///
    /// ```no_run
    /// use actix_web::web::Json;
    /// use logto_actix::{IdTokenClaims, User};
    ///
    /// async fn me(user: User) -> Json<IdTokenClaims> {
    ///     Json(user.claims)
    /// }
    /// ```
    pub struct User;
    /// The signed-in user for an API route: like [`User`](crate::User), but anyone else always gets
    /// `401 {"error": "Not authenticated"}`, whatever the request looks like (no redirect to
    /// sign-in). Derefs to [`User`](crate::User).
    pub struct ApiUser;
}

impl LogtoSession {
    /// The `Authorization` header for a call to `resource`'s API on the user's behalf:
    /// `Bearer <access token>`, the token as [`access_token`](crate::LogtoClient::access_token)
    /// gives it (cached, refreshed when due), marked sensitive so that logging middleware
    /// leaves it out. Attach it to a request of the app's own HTTP client (awc's requests
    /// take it as it is; with reqwest, `bearer.to_str()`). A visitor who is not signed in
    /// gets [`ClientError::NotAuthenticated`](crate::ClientError::NotAuthenticated) (401 as
    /// a response).
    pub async fn bearer_header(&self, resource: &str) -> Result<HeaderValue, Error> {
        self.0.bearer_header(resource, sensitive_header).await
    }
}

/// `value` as a header value marked sensitive, if a header can carry it.
fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl FromRequest for LogtoSession {
    type Error = Error;
    type Future = Extracting<LogtoSession>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let session = logto(&request)?.session(&request_headers(&request)).await?;
            Ok(LogtoSession(session))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sensitive_header;

    #[test]
    fn a_bearer_header_is_sensitive_and_refuses_what_a_header_cannot_carry() {
        let value = sensitive_header("Bearer eyJ.abc.def").unwrap();
        assert_eq!(value, "Bearer eyJ.abc.def");
        assert!(value.is_sensitive());
        assert!(sensitive_header("Bearer eyJ\r\nX-Injected: 1").is_none());
    }
}
