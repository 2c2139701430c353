//! Protecting an API: extractors for the verified bearer token of a request.

use crate::Error;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::{header, request::Parts};
use axum::Extension;
use logto_driver::aio::ApiValidator;
use logto_proto::{Requirement, VerifiedAccessToken};
use std::collections::HashMap;
use std::fmt;
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
    inner: Arc<ApiInner>,
}

struct ApiInner {
    validator: ApiValidator,
    resource: String,
    organization_param: String,
}

impl fmt::Debug for LogtoApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoApi")
            .field("resource", &self.inner.resource)
            .finish_non_exhaustive()
    }
}

impl LogtoApi {
    /// Protection for the API resource `resource` (its indicator, the `aud` of its tokens)
    /// of the Logto tenant at `endpoint`.
    pub fn new(endpoint: &str, resource: impl Into<String>) -> Result<LogtoApi, Error> {
        let validator = crate::transport::default_validator(endpoint)?;
        Ok(LogtoApi::with_validator(validator, resource))
    }

    /// Protection with a validator of your own (its transport, clock, cooldown, cache): the
    /// driver's [`ApiValidator`] or a transport crate's (`logto_reqwest::ApiValidator`,
    /// `logto_isahc::ApiValidator`).
    pub fn with_validator(
        validator: impl Into<ApiValidator>,
        resource: impl Into<String>,
    ) -> LogtoApi {
        LogtoApi {
            inner: Arc::new(ApiInner {
                validator: validator.into(),
                resource: resource.into(),
                organization_param: "id".to_owned(),
            }),
        }
    }

    /// The path parameter naming the organization a route is about, for
    /// [`OrganizationToken`] (default `id`, as in `/organizations/{id}/members`).
    #[must_use]
    pub fn organization_param(self, name: impl Into<String>) -> LogtoApi {
        let inner = ApiInner {
            validator: self.inner.validator.clone(),
            resource: self.inner.resource.clone(),
            organization_param: name.into(),
        };
        LogtoApi {
            inner: Arc::new(inner),
        }
    }

    /// The layer that lets the extractors find this protection.
    pub fn layer(&self) -> Extension<LogtoApi> {
        Extension(self.clone())
    }

    /// The API resource indicator.
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// Verifies `authorization` (an `Authorization` header value) and checks `requirement`.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        requirement: &Requirement,
    ) -> Result<Arc<VerifiedAccessToken>, Error> {
        Ok(self
            .inner
            .validator
            .authorize(authorization, requirement)
            .await?)
    }
}

fn api(parts: &Parts) -> Result<LogtoApi, Error> {
    parts
        .extensions
        .get::<LogtoApi>()
        .cloned()
        .ok_or(Error::MissingLayer)
}

fn authorization(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
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
        require_scopes(&self.0, scopes)
    }
}

impl OrganizationToken {
    /// Fails with 403 `insufficient_scope` (naming the scopes) unless every one is granted.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        require_scopes(&self.token, scopes)
    }
}

impl std::ops::Deref for ApiToken {
    type Target = VerifiedAccessToken;
    fn deref(&self) -> &VerifiedAccessToken {
        &self.0
    }
}

fn require_scopes<I, S>(token: &VerifiedAccessToken, scopes: I) -> Result<(), Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let required: Vec<String> = scopes.into_iter().map(Into::into).collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|scope| !token.has_scope(scope))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let refused = logto_proto::AccessTokenError::InsufficientScope { required, missing };
    Err(logto_proto::ClientError::Protocol(refused.into()).into())
}

impl<S: Send + Sync> FromRequestParts<S> for ApiToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let api = api(parts)?;
        let requirement = Requirement::resource(api.resource());
        Ok(ApiToken(
            api.authorize(authorization(parts), &requirement).await?,
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OrganizationToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let api = api(parts)?;
        let params = match Path::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Path(params)) => params,
            // The route has no parameters at all: the app's set-up.
            Err(PathRejection::MissingPathParams(_)) => {
                return Err(Error::MissingOrganizationParam {
                    name: api.inner.organization_param.clone(),
                })
            }
            // A path that does not decode (`/organizations/%FF/members`): the client's fault.
            // Without a token the answer is the bearer challenge, as for any request.
            Err(rejection) => {
                if authorization(parts).is_none() {
                    let requirement = Requirement::resource(api.resource());
                    api.authorize(None, &requirement).await?;
                }
                return Err(Error::MalformedPath {
                    reason: logto_proto::cut_untrusted(&rejection.body_text()),
                });
            }
        };
        let organization_id = params
            .get(&api.inner.organization_param)
            .cloned()
            .ok_or_else(|| Error::MissingOrganizationParam {
                name: api.inner.organization_param.clone(),
            })?;
        let requirement = Requirement::organization(organization_id.clone());
        let token = api.authorize(authorization(parts), &requirement).await?;
        Ok(OrganizationToken {
            token,
            organization_id,
        })
    }
}
