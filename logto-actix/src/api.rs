//! Protecting an API: extractors for the verified bearer token of a request.

use crate::routes::request_headers;
use crate::session::Extracting;
use crate::Error;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use logto_web::{ApiProtection, OrganizationParam};

logto_web::__framework_api! {
    /// API protection for an actix-web app: the tokens Logto issues for one API resource, verified
    /// against the tenant's keys (see [`ApiValidator`](crate::ApiValidator)). Cheap to clone; add
    /// it to the app (`.app_data(api.clone())`) so that [`ApiToken`](crate::ApiToken) and
    /// [`OrganizationToken`](crate::OrganizationToken) find it.
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
    pub struct LogtoApi;
}

fn protection(request: &HttpRequest) -> Result<ApiProtection, Error> {
    request
        .app_data::<LogtoApi>()
        .map(|api| api.protection.clone())
        .ok_or(Error::MissingLayer)
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
