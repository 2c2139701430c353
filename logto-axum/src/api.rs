//! Protecting an API: extractors for the verified bearer token of a request.

use crate::routes::request_headers;
use crate::Error;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::Extension;
use logto_driver::aio::ApiValidator;
use logto_proto::resource::{Requirement, VerifiedAccessToken};
use logto_web::{ApiProtection, OrganizationParam};
use std::sync::Arc;

/// API protection for an axum app: the tokens Logto issues for one API resource, verified
/// against the tenant's keys (see [`ApiValidator`]). Cheap to clone; add
/// [`layer`](Self::layer) to the router so that [`ApiToken`] and [`OrganizationToken`] find
/// it.
///
/// ```no_run
/// use axum::{routing::get, Json, Router};
/// use logto_axum::{ApiToken, Error, LogtoApi};
///
/// async fn orders(token: ApiToken) -> Result<Json<Vec<String>>, Error> {
///     token.require_scopes(["read"])?; // 403 insufficient_scope without it
///     Ok(Json(vec![]))
/// }
///
/// # fn app() -> Result<Router, Error> {
/// let api = LogtoApi::new("https://tenant.logto.app", "https://shopping.example/api")?;
/// let app = Router::new().route("/api/orders", get(orders)).layer(api.layer());
/// # Ok(app) }
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
    /// driver's [`ApiValidator`] or a transport crate's (`logto_reqwest::ApiValidator`,
    /// `logto_isahc::ApiValidator`).
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

    /// The layer that lets the extractors find this protection.
    pub fn layer(&self) -> Extension<LogtoApi> {
        Extension(self.clone())
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

fn protection(parts: &Parts) -> Result<ApiProtection, Error> {
    parts
        .extensions
        .get::<LogtoApi>()
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

impl<S: Send + Sync> FromRequestParts<S> for ApiToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let headers = request_headers(&parts.headers);
        let token = protection(parts)?.api_token(&headers).await?;
        Ok(ApiToken(token))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OrganizationToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let protection = protection(parts)?;
        let name = protection.organization_param_name();
        let param = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => {
                let segment = params.iter().find(|(key, _)| *key == name);
                OrganizationParam::from_segment(segment.map(|(_, v)| v), parts.uri.path())
            }
            // The route has no parameters at all: the app's set-up.
            Err(RawPathParamsRejection::MissingPathParams(_)) => OrganizationParam::Missing,
            // A parameter that does not decode (`/organizations/%FF/members`).
            Err(rejection) => OrganizationParam::Malformed(rejection.body_text()),
        };
        let headers = request_headers(&parts.headers);
        let (token, organization_id) = protection.organization_token(&headers, param).await?;
        Ok(OrganizationToken {
            token,
            organization_id,
        })
    }
}
