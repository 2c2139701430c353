//! The app of logto-actix's provider-backed tests: the routes of logto-axum's test app on
//! actix-web, served on a loopback port by its own actix system on its own thread; and
//! what every framework's tests share (`tests/cases/web_support.rs`).
#![allow(dead_code)]

#[path = "../../../tests/cases/web_support.rs"]
mod shared;
pub use shared::*;

use actix_web::dev::ServerHandle;
use actix_web::http::header::AUTHORIZATION;
use actix_web::web::{self, Json, Query};
use actix_web::{App, HttpResponse, HttpServer, ResponseError};
use logto_actix::{
    ApiToken, ApiUser, AsyncSessionStore, Error, IdTokenClaims, Logto, LogtoApi, LogtoBuilder,
    LogtoConfig, LogtoSession, User,
};
use logto_integration::fixtures::API_RESOURCE;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;

#[derive(Deserialize)]
struct TokenQuery {
    resource: Option<String>,
    organization_id: Option<String>,
}

async fn claims(user: User) -> Json<IdTokenClaims> {
    Json(user.claims)
}

async fn api_claims(user: ApiUser) -> Json<IdTokenClaims> {
    Json(user.into_inner().claims)
}

async fn userinfo(session: LogtoSession) -> Result<Json<logto_actix::UserInfo>, Error> {
    Ok(Json(session.fetch_user_info().await?))
}

async fn access_token(session: LogtoSession, q: Query<TokenQuery>) -> Result<Json<Value>, Error> {
    let q = q.into_inner();
    let token = match (q.resource, q.organization_id) {
        (_, Some(organization)) => session.organization_token(&organization).await?,
        (resource, None) => session.access_token(&resource.unwrap_or_default()).await?,
    };
    Ok(Json(json!({ "token": token })))
}

/// The API the app calls (under `/shop` of the same server, protected by `LogtoApi`): the
/// orders of the token's subject.
async fn shop_orders(token: ApiToken) -> Result<Json<Value>, Error> {
    token.require_scopes(["read:data"])?;
    Ok(Json(json!({ "orders": [], "customer": token.claims.sub })))
}

/// The app's error: the SDK's, or the API call's (a failure upstream is a 502).
#[derive(Debug)]
enum AppError {
    Logto(Error),
    Api(reqwest::Error),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Logto(e) => write!(f, "{e}"),
            AppError::Api(e) => write!(f, "the orders API: {e}"),
        }
    }
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Logto(e)
    }
}

impl From<reqwest::Error> for AppError {
    fn from(e: reqwest::Error) -> Self {
        AppError::Api(e)
    }
}

impl ResponseError for AppError {
    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Logto(e) => e.error_response(),
            AppError::Api(e) => HttpResponse::BadGateway().body(e.to_string()),
        }
    }
}

/// The page that calls the API with the signed-in user's access token.
async fn orders(
    session: LogtoSession,
    http: web::Data<reqwest::Client>,
    shop: web::Data<String>,
) -> Result<Json<Value>, AppError> {
    let bearer = session.bearer_header(API_RESOURCE).await?;
    // reqwest takes the `http` crate's header values: the bearer's text.
    let bearer = bearer.to_str().unwrap_or_default().to_owned();
    let response = http
        .get(format!("{}/orders", shop.as_str()))
        .header(AUTHORIZATION.as_str(), bearer)
        .send()
        .await?;
    let orders = response.error_for_status()?.bytes().await?;
    Ok(Json(serde_json::from_slice(&orders).unwrap_or(Value::Null)))
}

/// One instance of the app (the sample's routes), served by its own actix system.
pub struct Instance {
    pub base: String,
    pub logto: Logto,
    server: ServerHandle,
}

impl Instance {
    pub fn start(
        port: Port,
        config: LogtoConfig,
        store: impl AsyncSessionStore + 'static,
        prefix: &str,
    ) -> Instance {
        Instance::start_with(port, config, store, prefix, |builder| builder)
    }

    /// [`start`](Self::start), with the builder's other settings (its transport) from
    /// `customize`.
    pub fn start_with(
        port: Port,
        config: LogtoConfig,
        store: impl AsyncSessionStore + 'static,
        prefix: &str,
        customize: impl FnOnce(LogtoBuilder) -> LogtoBuilder,
    ) -> Instance {
        let builder = Logto::builder(config, &port.base)
            .store(store)
            .route_prefix(prefix);
        let logto = customize(builder).build().unwrap();
        let api = LogtoApi::new(logto.client().config().endpoint(), API_RESOURCE).unwrap();
        let shop = web::Data::new(format!("{}/shop", port.base));
        let http = web::Data::new(reqwest::Client::new());
        let app_logto = logto.clone();
        let server = HttpServer::new(move || {
            App::new()
                .configure(app_logto.configure())
                // An app that lifts actix-web's body limit: the back-channel route keeps its own.
                .app_data(web::PayloadConfig::new(usize::MAX))
                .app_data(shop.clone())
                .app_data(http.clone())
                .service(
                    web::scope("/shop")
                        .app_data(api.clone())
                        .route("/orders", web::get().to(shop_orders)),
                )
                .route("/orders", web::get().to(orders))
                .route("/api/id-token-claims", web::get().to(api_claims))
                .route("/protected", web::get().to(claims))
                .route("/api/access-token", web::get().to(access_token))
                .route("/api/userinfo", web::get().to(userinfo))
        })
        .workers(2)
        .disable_signals()
        .listen(port.listener)
        .unwrap()
        .run();
        let handle = server.handle();
        std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
        Instance {
            base: port.base,
            logto,
            server: handle,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The stop command is sent at once; its completion is not waited for.
        drop(self.server.stop(false));
    }
}
