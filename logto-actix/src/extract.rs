//! Extractors: the signed-in user, with or without a redirect to sign in.

use crate::routes::{logto, request_headers};
use crate::session::{ApiUser, Extracting, User};
use crate::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use logto_web::Guard;

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

impl FromRequest for ApiUser {
    type Error = Error;
    type Future = Extracting<ApiUser>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { require_signed_in(&request, Guard::Api).await.map(ApiUser) })
    }
}
