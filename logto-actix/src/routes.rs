//! The sign-in, sign-up, callback, sign-out and back-channel logout routes, served by the
//! web rules of `logto-web`, and how a request reaches them.

use crate::logto::Logto;
use crate::Error;
use actix_web::http::Method;
use actix_web::web::{self, Bytes, PayloadConfig, ServiceConfig};
use actix_web::HttpRequest;
use logto_web::{Answer, RequestHeaders, Route, WebRequest, BACKCHANNEL_LOGOUT_BODY_LIMIT};

impl Logto {
    /// The routes of the sign-in flow and the state the extractors find, for
    /// [`App::configure`](actix_web::App::configure):
    ///
    /// - `GET /sign-in[?return_to=/path]`: starts a sign-in and redirects to Logto;
    /// - `GET /sign-up[?return_to=/path]`: the same, opening Logto's register page;
    /// - `GET /callback`: completes the sign-in (a new session id), then redirects to the
    ///   `return_to` path (default `/`);
    /// - `GET` or `POST /sign-out`: signs out and redirects to Logto's end-session page
    ///   (cross-site sign-outs refused, as [`LogtoWeb::handle`](logto_web::LogtoWeb::handle) says);
    /// - `POST /backchannel-logout`: Logto's back-channel logout (register
    ///   `<base URL>/backchannel-logout` as the app's back-channel logout URI), with a body
    ///   limit of its own whatever the app's.
    ///
    /// With [`route_prefix`](logto_web::WebBuilder::route_prefix) the paths start with the prefix
    /// (configure the app, not a scope of it).
    ///
    /// ```no_run
    /// use actix_web::{App, HttpServer};
    /// use logto_actix::Logto;
    ///
    /// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    /// let logto = Logto::from_env()?;
    /// HttpServer::new(move || App::new().configure(logto.configure()))
    ///     .bind("127.0.0.1:3000")?
    ///     .run()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn configure(&self) -> impl FnOnce(&mut ServiceConfig) + 'static {
        let logto = self.clone();
        move |config| {
            for route in Route::ALL {
                let mut resource = web::resource(logto.route_path(route))
                    // Anyone can POST to the back-channel route: its own limit.
                    .app_data(PayloadConfig::new(BACKCHANNEL_LOGOUT_BODY_LIMIT))
                    // These routes answer with this state, whatever else the app holds.
                    .app_data(logto.clone());
                for method in route.methods() {
                    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
                        continue;
                    };
                    let handler =
                        move |request: HttpRequest, body: Bytes| answer(route, request, body);
                    resource = resource.route(web::method(method).to(handler));
                }
                config.service(resource);
            }
            // For the extractors of the app's own routes.
            config.app_data(logto);
        }
    }
}

/// One route's answer: the request as plain values, to the web rules.
async fn answer(route: Route, request: HttpRequest, body: Bytes) -> Result<Answer, Error> {
    let logto = logto(&request)?;
    let web_request = WebRequest {
        method: request.method().as_str(),
        path_and_query: request.uri().path_and_query().map_or("/", |p| p.as_str()),
        headers: request_headers(&request),
        body: &body,
    };
    Ok(logto.handle(route, &web_request).await)
}

/// The app's Logto state, or the error saying how to add it.
pub(crate) fn logto(request: &HttpRequest) -> Result<&Logto, Error> {
    request.app_data::<Logto>().ok_or(Error::MissingLayer)
}

/// The headers the web rules read.
pub(crate) fn request_headers(request: &HttpRequest) -> RequestHeaders<'_> {
    RequestHeaders::from_pairs(
        request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}
