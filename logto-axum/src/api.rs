//! Protecting an API: extractors for the verified bearer token of a request.

use crate::routes::request_headers;
use crate::Error;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::Extension;
use logto_web::{ApiProtection, OrganizationParam};

logto_web::__framework_api! {
    /// API protection for an axum app: the tokens Logto issues for one API resource, verified
    /// against the tenant's keys (see [`ApiValidator`](crate::ApiValidator)). Cheap to clone; add
    /// [`layer`](Self::layer) to the router so that [`ApiToken`](crate::ApiToken) and
    /// [`OrganizationToken`](crate::OrganizationToken) find it.
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
    pub struct LogtoApi;
}

impl LogtoApi {
    /// The layer that lets the extractors find this protection.
    pub fn layer(&self) -> Extension<LogtoApi> {
        Extension(self.clone())
    }
}

fn protection(parts: &Parts) -> Result<ApiProtection, Error> {
    parts
        .extensions
        .get::<LogtoApi>()
        .map(|api| api.protection.clone())
        .ok_or(Error::MissingLayer)
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
