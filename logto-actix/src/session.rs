//! The Logto state of an actix-web app, its routes, and the request's session.

use crate::Error;
use actix_web::dev::Payload;
use actix_web::http::header::HeaderValue;
use actix_web::http::Method;
use actix_web::web::{self, Bytes, PayloadConfig, ServiceConfig};
use actix_web::{FromRequest, HttpRequest};
use logto_driver::aio::LogtoClient;
use logto_proto::Config as LogtoConfig;
use logto_web::{
    Answer, LogtoWeb, RequestHeaders, Route, WebBuilder, WebRequest, WebSession,
    BACKCHANNEL_LOGOUT_BODY_LIMIT,
};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The future of an extractor of this crate.
pub(crate) type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

/// Logto for an actix-web app: the app's [`LogtoClient`], its session store and its base
/// URL (the framework-neutral [`LogtoWeb`], which it dereferences to), and the routes.
/// Cheap to clone (one reference count): build it once, before `HttpServer::new`, and
/// [`configure`](Self::configure) every worker's app with it.
#[derive(Clone)]
pub struct Logto {
    web: LogtoWeb,
}

impl fmt::Debug for Logto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.web, f)
    }
}

/// Builds a [`Logto`]; see [`Logto::builder`] and [`WebBuilder`]'s methods.
pub type LogtoBuilder = WebBuilder<Logto>;

impl From<LogtoWeb> for Logto {
    fn from(web: LogtoWeb) -> Logto {
        Logto { web }
    }
}

impl std::ops::Deref for Logto {
    type Target = LogtoWeb;
    fn deref(&self) -> &LogtoWeb {
        &self.web
    }
}

impl Logto {
    /// A builder for an app served at `base_url` (an origin such as
    /// `https://app.example.com`). The callback is `<base_url>/callback`: register it as a
    /// redirect URI in Logto Console, and `<base_url>/` as a post sign-out redirect URI.
    pub fn builder(config: LogtoConfig, base_url: impl Into<String>) -> LogtoBuilder {
        WebBuilder::new(config, base_url)
    }

    /// The state of an app configured by environment variables (see
    /// [`WebBuilder::from_env`]: `LOGTO_ENDPOINT`, `LOGTO_APP_ID`, `LOGTO_APP_SECRET`,
    /// `BASE_URL`, `LOGTO_SESSION_STORE`, `LOGTO_COOKIE_SECRET`, ...). The error names the
    /// variable.
    pub fn from_env() -> Result<Logto, Error> {
        LogtoBuilder::from_env()?.build()
    }

    /// `Logto::builder(config, base_url).build()` with a [`MemoryStore`](crate::MemoryStore).
    pub fn new(config: LogtoConfig, base_url: impl Into<String>) -> Result<Logto, Error> {
        Logto::builder(config, base_url).build()
    }

    /// The routes of the sign-in flow and the state the extractors find, for
    /// [`App::configure`](actix_web::App::configure):
    ///
    /// - `GET /sign-in[?return_to=/path]`: starts a sign-in and redirects to Logto;
    /// - `GET /sign-up[?return_to=/path]`: the same, opening Logto's register page;
    /// - `GET /callback`: completes the sign-in (a new session id), then redirects to the
    ///   `return_to` path (default `/`);
    /// - `GET` or `POST /sign-out`: signs out and redirects to Logto's end-session page
    ///   (cross-site sign-outs refused, as [`LogtoWeb::handle`] says);
    /// - `POST /backchannel-logout`: Logto's back-channel logout (register
    ///   `<base URL>/backchannel-logout` as the app's back-channel logout URI), with a body
    ///   limit of its own whatever the app's.
    ///
    /// With [`route_prefix`](WebBuilder::route_prefix) the paths start with the prefix
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

/// The request's Logto session: a [`LogtoClient`] (through `Deref`) for tokens, user info
/// and the ID token of the browser session the cookie names. Without a session (no cookie,
/// or an expired one) it is a client that is not signed in.
///
/// ```no_run
/// use logto_actix::{Error, LogtoSession};
///
/// async fn api_token(session: LogtoSession) -> Result<String, Error> {
///     Ok(session.access_token("https://api.example.com").await?)
/// }
/// ```
#[derive(Clone)]
pub struct LogtoSession(pub(crate) WebSession);

impl LogtoSession {
    /// The session's client.
    pub fn client(&self) -> &LogtoClient {
        self.0.client()
    }

    /// Whether the request's cookie named a session of the store (signed in or not; it may
    /// have expired or been signed out since this process last looked).
    pub fn exists(&self) -> bool {
        self.0.exists()
    }

    /// The `Authorization` header for a call to `resource`'s API on the user's behalf:
    /// `Bearer <access token>`, the token as [`access_token`](LogtoClient::access_token)
    /// gives it (cached, refreshed when due), marked sensitive so that logging middleware
    /// leaves it out. Attach it to a request of the app's own HTTP client (awc's requests
    /// take it as it is; with reqwest, `bearer.to_str()`). A visitor who is not signed in
    /// gets [`ClientError::NotAuthenticated`](crate::ClientError::NotAuthenticated) (401 as
    /// a response).
    pub async fn bearer_header(&self, resource: &str) -> Result<HeaderValue, Error> {
        self.0.bearer_header(resource, sensitive_header).await
    }
}

/// `value` as a header value marked sensitive, if a header can carry it.
fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl std::ops::Deref for LogtoSession {
    type Target = LogtoClient;
    fn deref(&self) -> &LogtoClient {
        self.0.client()
    }
}

impl fmt::Debug for LogtoSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoSession")
            .field("exists", &self.exists())
            .finish_non_exhaustive()
    }
}

impl FromRequest for LogtoSession {
    type Error = Error;
    type Future = Extracting<LogtoSession>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let session = logto(&request)?.session(&request_headers(&request)).await?;
            Ok(LogtoSession(session))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sensitive_header;

    #[test]
    fn a_bearer_header_is_sensitive_and_refuses_what_a_header_cannot_carry() {
        let value = sensitive_header("Bearer eyJ.abc.def").unwrap();
        assert_eq!(value, "Bearer eyJ.abc.def");
        assert!(value.is_sensitive());
        assert!(sensitive_header("Bearer eyJ\r\nX-Injected: 1").is_none());
    }
}
