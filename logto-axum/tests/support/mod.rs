//! The app of logto-axum's provider-backed tests: built like the sample, served on a
//! loopback port with its own runtime; and what every framework's tests share
//! (`tests/cases/web_support.rs`).
#![allow(dead_code)]

#[path = "../../../tests/cases/web_support.rs"]
mod shared;
pub use shared::*;

use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{extract::Query, routing::get, Json, Router};
use logto_axum::{
    ApiToken, ApiUser, AsyncSessionStore, Error, IdTokenClaims, Logto, LogtoApi, LogtoBuilder,
    LogtoConfig, LogtoSession, User,
};
use logto_integration::fixtures::API_RESOURCE;
use serde::Deserialize;
use serde_json::{json, Value};

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

async fn userinfo(session: LogtoSession) -> Result<Json<logto_axum::UserInfo>, Error> {
    Ok(Json(session.fetch_user_info().await?))
}

async fn access_token(
    session: LogtoSession,
    Query(q): Query<TokenQuery>,
) -> Result<Json<Value>, Error> {
    let token = match (q.resource, q.organization_id) {
        (_, Some(organization)) => session.organization_token(&organization).await?,
        (resource, None) => session.access_token(&resource.unwrap_or_default()).await?,
    };
    Ok(Json(json!({ "token": token })))
}

/// The API the app calls (mounted under `/shop` of the same server, protected by
/// `LogtoApi`): the orders of the token's subject.
async fn shop_orders(token: ApiToken) -> Result<Json<Value>, Error> {
    token.require_scopes(["read:data"])?;
    Ok(Json(json!({ "orders": [], "customer": token.claims.sub })))
}

/// The app's error: the SDK's, or the API call's (a failure upstream is a 502).
enum AppError {
    Logto(Error),
    Api(reqwest::Error),
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Logto(e) => e.into_response(),
            AppError::Api(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        }
    }
}

/// The page that calls the API with the signed-in user's access token.
async fn orders(
    session: LogtoSession,
    http: reqwest::Client,
    shop: String,
) -> Result<Json<Value>, AppError> {
    let bearer = session.bearer_header(API_RESOURCE).await?;
    let response = http
        .get(format!("{shop}/orders"))
        .header(AUTHORIZATION, bearer)
        .send()
        .await?;
    let orders = response.error_for_status()?.bytes().await?;
    Ok(Json(serde_json::from_slice(&orders).unwrap_or(Value::Null)))
}

/// One instance of the app (the sample's routes), serving on its own runtime.
pub struct Instance {
    pub base: String,
    pub logto: Logto,
    _runtime: tokio::runtime::Runtime,
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let logto = runtime
            .block_on(async {
                let builder = Logto::builder(config, &port.base)
                    .store(store)
                    .route_prefix(prefix);
                customize(builder).build()
            })
            .unwrap();
        let api = LogtoApi::new(logto.client().config().endpoint(), API_RESOURCE).unwrap();
        let shop = format!("{}/shop", port.base);
        let http = reqwest::Client::new();
        let app = Router::new()
            .nest(
                "/shop",
                Router::new()
                    .route("/orders", get(shop_orders))
                    .layer(api.layer()),
            )
            .route(
                "/orders",
                get(move |session: LogtoSession| orders(session, http.clone(), shop.clone())),
            )
            .route("/api/id-token-claims", get(api_claims))
            .route("/protected", get(claims))
            .route("/api/access-token", get(access_token))
            .route("/api/userinfo", get(userinfo))
            .merge(logto.routes())
            .layer(logto.layer())
            // An app that lifts axum's body limit: the back-channel route keeps its own.
            .layer(axum::extract::DefaultBodyLimit::disable());
        port.listener.set_nonblocking(true).unwrap();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(port.listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        Instance {
            base: port.base,
            logto,
            _runtime: runtime,
        }
    }
}
