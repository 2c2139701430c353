//! Extractors: the signed-in user, with or without a redirect to sign in.

use crate::routes::{logto, request_headers};
use crate::session::{Extracting, LogtoSession};
use crate::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use logto_proto::IdTokenClaims;
use logto_web::{Guard, SignedIn};

/// The signed-in user: the claims of the session's ID token (verified when it was stored),
/// and the session for tokens and user info.
///
/// A handler taking `User` runs only for a signed-in visitor. Anyone else gets, for a page
/// visit, a redirect to `/sign-in?return_to=<this page>` (after the
/// [route prefix](logto_web::WebBuilder::route_prefix), if any), and for a script's call
/// `401 {"error": "Not authenticated"}`, as [`is_page_visit`](logto_web::is_page_visit)
/// tells them apart. Take [`ApiUser`] for an API route that always answers 401, and
/// [`OptionalUser`] for a page that serves both kinds of visitor.
///
/// ```no_run
/// use actix_web::web::Json;
/// use logto_actix::{IdTokenClaims, User};
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
    fn from_signed_in(user: SignedIn) -> User {
        User {
            claims: user.claims,
            session: LogtoSession(user.session),
        }
    }
}

/// The request's signed-in user, or the refusal `guard` says.
async fn require_signed_in(request: &HttpRequest, guard: Guard<'_>) -> Result<User, Error> {
    let headers = request_headers(request);
    let user = logto(request)?.require_signed_in(&headers, guard).await?;
    Ok(User::from_signed_in(user))
}

impl FromRequest for User {
    type Error = Error;
    type Future = Extracting<User>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str());
            require_signed_in(&request, Guard::Page { path_and_query }).await
        })
    }
}

/// The signed-in user if there is one, for a page that serves every visitor. Unlike
/// `Option<User>` (actix-web's `Option` extractor turns every failure into `None`), a
/// failure to read the session (the store unreachable: 503) is an error, never a visitor
/// taken for signed out.
///
/// ```no_run
/// use logto_actix::OptionalUser;
///
/// async fn home(OptionalUser(user): OptionalUser) -> String {
///     match user {
///         Some(user) => format!("Hello {}", user.claims.sub),
///         None => "Hello, visitor".to_owned(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct OptionalUser(pub Option<User>);

impl FromRequest for OptionalUser {
    type Error = Error;
    type Future = Extracting<OptionalUser>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let user = logto(&request)?
                .signed_in(&request_headers(&request))
                .await?;
            Ok(OptionalUser(user.map(User::from_signed_in)))
        })
    }
}

/// The signed-in user for an API route: like [`User`], but anyone else always gets
/// `401 {"error": "Not authenticated"}`, whatever the request looks like (no redirect to
/// sign-in). Derefs to [`User`].
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

impl FromRequest for ApiUser {
    type Error = Error;
    type Future = Extracting<ApiUser>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { require_signed_in(&request, Guard::Api).await.map(ApiUser) })
    }
}
