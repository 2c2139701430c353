//! The sign-in, sign-up, callback, sign-out and back-channel logout routes, served by the
//! web rules of `logto-web`.

use crate::logto::Logto;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri};
use axum::http::{HeaderMap, Method};
use axum::routing::{on, MethodFilter};
use axum::{Extension, Router};
use logto_web::{Answer, RequestHeaders, Route, WebRequest, BACKCHANNEL_LOGOUT_BODY_LIMIT};

impl Logto {
    /// The routes of the sign-in flow, to merge into the app's router:
    ///
    /// - `GET /sign-in[?return_to=/path]`: starts a sign-in and redirects to Logto;
    /// - `GET /sign-up[?return_to=/path]`: the same, opening Logto's register page;
    /// - `GET /callback`: completes the sign-in (a new session id), then redirects to the
    ///   `return_to` path (default `/`);
    /// - `GET` or `POST /sign-out`: signs out and redirects to Logto's end-session page,
    ///   which comes back to `/` (see
    ///   [`LogtoBuilder::after_sign_out`](crate::LogtoBuilder::after_sign_out)). A `POST`
    ///   from another site or a sibling subdomain is refused with 403; a `GET` that is not
    ///   the app's own link (`Sec-Fetch-Site` other than `same-origin` or `none`) gets a
    ///   page whose button POSTs the sign-out. When the session cannot be ended here (the
    ///   store unavailable), the answer is 503 and the session stays;
    /// - `POST /backchannel-logout`: Logto's back-channel logout (register
    ///   `<base URL>/backchannel-logout` as the app's back-channel logout URI): ends every
    ///   session of the provider session the logout token names, in the store shared by
    ///   the app's instances (see [`LogtoWeb::handle_backchannel_logout`](logto_web::LogtoWeb::handle_backchannel_logout)).
    ///
    /// `return_to` must be a path of this app; anything else is refused with 400. With
    /// [`LogtoBuilder::route_prefix`](crate::LogtoBuilder::route_prefix) the paths start with
    /// the prefix (merge the routes, do not `nest` them).
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new();
        for route in Route::ALL {
            let methods = route
                .methods()
                .iter()
                .filter_map(|method| Method::from_bytes(method.as_bytes()).ok())
                .filter_map(|method| MethodFilter::try_from(method).ok())
                .reduce(MethodFilter::or)
                .unwrap_or(MethodFilter::GET);
            let handler = on(
                methods,
                move |logto: Extension<Logto>,
                      uri: OriginalUri,
                      method: Method,
                      headers: HeaderMap,
                      body: Bytes| {
                    answer(route, logto, uri, method, headers, body)
                },
            )
            // Its own limit, whatever the app's `DefaultBodyLimit`: anyone can POST here.
            .layer(DefaultBodyLimit::max(BACKCHANNEL_LOGOUT_BODY_LIMIT));
            router = router.route(&self.route_path(route), handler);
        }
        router.layer(self.layer())
    }

    /// The layer that lets the extractors ([`User`](crate::User),
    /// [`LogtoSession`](crate::LogtoSession)) find this state: add it to the router, after
    /// every route that uses them.
    pub fn layer(&self) -> Extension<Logto> {
        Extension(self.clone())
    }
}

/// One route's answer: the request as plain values, to the web rules.
async fn answer(
    route: Route,
    Extension(logto): Extension<Logto>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let request = WebRequest {
        method: method.as_str(),
        // The path the browser asked for, before any `nest` stripped a prefix.
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: request_headers(&headers),
        body: &body,
    };
    logto.handle(route, &request).await
}

/// The headers the web rules read.
pub(crate) fn request_headers(headers: &HeaderMap) -> RequestHeaders<'_> {
    RequestHeaders::from_pairs(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}
