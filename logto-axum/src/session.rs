//! The request's Logto session (the client of the browser session the cookie names) and its
//! signed-in user.

use crate::Error;
use axum::http::HeaderValue;

logto_web::__framework_session! {
    /// The request's Logto session: a [`LogtoClient`](crate::LogtoClient) (through `Deref`) for
    /// tokens, user info and the ID token of the browser session the cookie names. Without a
    /// session (no cookie, or an expired one) it is a client that is not signed in.
    ///
    /// ```no_run
    /// use logto_axum::{Error, LogtoSession};
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
    /// prefix](crate::LogtoBuilder::route_prefix), if any), and for a script's call `401 {"error":
    /// "Not authenticated"}`. A visit is `Sec-Fetch-Mode: navigate`, an `Accept` with `text/html`,
    /// or a request with neither Fetch Metadata nor a specific `Accept` (a link opened with curl);
    /// a script call is `Sec-Fetch-Mode` `cors`, `same-origin` or `no-cors`, an `X-Requested-With`
    /// header, or `Accept: application/json` (see
    /// [`is_page_visit`](crate::logto_web::is_page_visit)). Take [`ApiUser`](crate::ApiUser) for an
    /// API route that always answers 401, and `Option<User>` for a page that serves both kinds of
    /// visitor.
    ///
    /// ```no_run
    /// use axum::Json;
    /// use logto_axum::{IdTokenClaims, User};
    ///
    /// async fn me(user: User) -> Json<IdTokenClaims> {
    ///     Json(user.claims)
    /// }
    /// ```
    pub struct User;
    /// The signed-in user for an API route: like [`User`](crate::User), but anyone else always gets
    /// `401 {"error": "Not authenticated"}`, whatever the request looks like (no redirect to
    /// sign-in). Derefs to [`User`](crate::User).
    ///
    /// ```no_run
    /// use axum::Json;
    /// use logto_axum::{ApiUser, IdTokenClaims};
    ///
    /// async fn claims(user: ApiUser) -> Json<IdTokenClaims> {
    ///     Json(user.into_inner().claims)
    /// }
    /// ```
    pub struct ApiUser;
}

impl LogtoSession {
    /// The `Authorization` header for a call to `resource`'s API on the user's behalf:
    /// `Bearer <access token>`, the token as [`access_token`](crate::LogtoClient::access_token)
    /// gives it (cached, refreshed when due), marked sensitive so that HTTP logging
    /// middleware leaves it out. Attach it to a request of the app's own HTTP client (any
    /// client on the `http` crate's types: reqwest, hyper, ...). A visitor who is not signed
    /// in gets [`ClientError::NotAuthenticated`](crate::ClientError::NotAuthenticated)
    /// (401 as a response).
    ///
    /// ```no_run
    /// use axum::http::header::AUTHORIZATION;
    /// use logto_axum::{Error, LogtoSession};
    ///
    /// async fn orders(session: LogtoSession, http: reqwest::Client) -> Result<String, Box<dyn std::error::Error>> {
    ///     let bearer = session.bearer_header("https://api.example.com").await?;
    ///     let orders = http
    ///         .get("https://api.example.com/orders")
    ///         .header(AUTHORIZATION, bearer)
    ///         .send()
    ///         .await?
    ///         .error_for_status()?
    ///         .text()
    ///         .await?;
    ///     Ok(orders)
    /// }
    /// ```
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
