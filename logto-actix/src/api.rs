//! Protecting an API: extractors for the verified bearer token of a request.

use crate::routes::request_headers;
use crate::session::Extracting;
use crate::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use logto_driver::aio::ApiValidator;
use logto_proto::resource::{Requirement, VerifiedAccessToken};
use logto_web::{ApiProtection, OrganizationParam};
use std::sync::Arc;

/// API protection for an actix-web app: the tokens Logto issues for one API resource,
/// verified against the tenant's keys (see [`ApiValidator`]). Cheap to clone; add it to
/// the app (`.app_data(api.clone())`) so that [`ApiToken`] and [`OrganizationToken`] find
/// it.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use logto_actix::{ApiToken, Error, LogtoApi};
///
/// async fn orders(token: ApiToken) -> Result<web::Json<Vec<String>>, Error> {
///     token.require_scopes(["read"])?; // 403 insufficient_scope without it
///     Ok(web::Json(vec![]))
/// }
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let api = LogtoApi::new("https://tenant.logto.app", "https://shopping.example/api")?;
/// HttpServer::new(move || {
///     App::new()
///         .app_data(api.clone())
///         .route("/api/orders", web::get().to(orders))
/// })
/// .bind("127.0.0.1:4000")?
/// .run()
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LogtoApi {
    protection: ApiProtection,
}

impl std::fmt::Debug for LogtoApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.protection, f)
    }
}

impl LogtoApi {
    /// Protection for the API resource `resource` (its indicator, the `aud` of its tokens)
    /// of the Logto tenant at `endpoint`.
    pub fn new(endpoint: &str, resource: impl Into<String>) -> Result<LogtoApi, Error> {
        let protection = ApiProtection::new(endpoint, resource)?;
        Ok(LogtoApi { protection })
    }

    /// Protection with a validator of your own (its transport, clock, cooldown, cache): the
    /// driver's [`ApiValidator`] or a transport crate's (`logto_reqwest::ApiValidator`).
    pub fn with_validator(
        validator: impl Into<ApiValidator>,
        resource: impl Into<String>,
    ) -> LogtoApi {
        let protection = ApiProtection::with_validator(validator, resource);
        LogtoApi { protection }
    }

    /// The path parameter naming the organization a route is about, for
    /// [`OrganizationToken`] (default `id`, as in `/organizations/{id}/members`).
    #[must_use]
    pub fn organization_param(self, name: impl Into<String>) -> LogtoApi {
        let protection = self.protection.organization_param(name);
        LogtoApi { protection }
    }

    /// The API resource indicator.
    pub fn resource(&self) -> &str {
        self.protection.resource()
    }

    /// Verifies `authorization` (an `Authorization` header value) and checks `requirement`.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        requirement: &Requirement,
    ) -> Result<Arc<VerifiedAccessToken>, Error> {
        self.protection.authorize(authorization, requirement).await
    }
}

fn protection(request: &HttpRequest) -> Result<ApiProtection, Error> {
    request
        .app_data::<LogtoApi>()
        .map(|api| api.protection.clone())
        .ok_or(Error::MissingLayer)
}

/// A request's bearer token for the API resource, verified: any valid token (a user's or a
/// machine's) whose audience is the API and that is not scoped to an organization.
/// Without one the handler does not run: 401 with `WWW-Authenticate: Bearer
/// error="invalid_token"` and `{"error": "invalid_token"}`.
#[derive(Clone, Debug)]
pub struct ApiToken(pub Arc<VerifiedAccessToken>);

/// A request's organization token, verified for the organization the route's path names
/// (parameter `id` unless [`LogtoApi::organization_param`] says otherwise): `aud` is
/// `urn:logto:organization:<id>`. Another organization's token gets 401.
#[derive(Clone, Debug)]
pub struct OrganizationToken {
    /// The verified token.
    pub token: Arc<VerifiedAccessToken>,
    /// The organization of the route (and of the token).
    pub organization_id: String,
}

impl ApiToken {
    /// Fails with 403 `insufficient_scope` (naming the scopes) unless every one is granted.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        logto_web::require_scopes(&self.0, scopes)
    }
}

impl OrganizationToken {
    /// Fails with 403 `insufficient_scope` (naming the scopes) unless every one is granted.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        logto_web::require_scopes(&self.token, scopes)
    }
}

impl std::ops::Deref for ApiToken {
    type Target = VerifiedAccessToken;
    fn deref(&self) -> &VerifiedAccessToken {
        &self.0
    }
}

impl FromRequest for ApiToken {
    type Error = Error;
    type Future = Extracting<ApiToken>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let headers = request_headers(&request);
            let token = protection(&request)?.api_token(&headers).await?;
            Ok(ApiToken(token))
        })
    }
}

impl FromRequest for OrganizationToken {
    type Error = Error;
    type Future = Extracting<OrganizationToken>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let protection = protection(&request)?;
            let name = protection.organization_param_name();
            let segment = request.match_info().get(name);
            let param = OrganizationParam::from_segment(segment, request.uri().path());
            let headers = request_headers(&request);
            let (token, organization_id) = protection.organization_token(&headers, param).await?;
            Ok(OrganizationToken {
                token,
                organization_id,
            })
        })
    }
}
