//! The sign-in, sign-up, callback and sign-out routes.

use crate::session::{Logto, SessionId};
use crate::Error;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use logto_proto::adapter::SESSION_KEY;
use logto_proto::cut_untrusted;
use logto_proto::{FirstScreen, InteractionMode, SignInOptions, StorageError};
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, MemoryStore};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a sign-in may take, for its cookies (the core refuses older sign-ins anyway).
const SIGN_IN_MAX_AGE: Duration = Duration::from_secs(600);
const MAX_RETURN_TO_LEN: usize = 2048;
/// The largest back-channel logout request body taken (a logout token is well under 4 KB).
const BACKCHANNEL_LOGOUT_BODY_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
struct SignInQuery {
    return_to: Option<String>,
}

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
    ///   the app's instances (see [`Logto::handle_backchannel_logout`]).
    ///
    /// `return_to` must be a path of this app; anything else is refused with 400. With
    /// [`LogtoBuilder::route_prefix`](crate::LogtoBuilder::route_prefix) the paths start with
    /// the prefix (merge the routes, do not `nest` them).
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let path = |name: &str| format!("{}/{name}", self.inner.route_prefix);
        Router::new()
            .route(&path("sign-in"), get(sign_in))
            .route(&path("sign-up"), get(sign_up))
            .route(&path("callback"), get(callback))
            .route(&path("sign-out"), get(sign_out_get).post(sign_out_post))
            .route(
                &path("backchannel-logout"),
                // Its own limit, whatever the app's `DefaultBodyLimit`: anyone can POST here.
                post(backchannel_logout)
                    .layer(DefaultBodyLimit::max(BACKCHANNEL_LOGOUT_BODY_LIMIT)),
            )
            .layer(self.layer())
    }

    /// The layer that lets the extractors ([`User`](crate::User),
    /// [`LogtoSession`](crate::LogtoSession)) find this state: add it to the router, after
    /// every route that uses them.
    pub fn layer(&self) -> Extension<Logto> {
        Extension(self.clone())
    }

    /// `return_to` as a path of this app, or the error refusing it.
    pub(crate) fn same_origin_path(&self, return_to: &str) -> Result<String, Error> {
        let rejected = || Error::ReturnToRejected {
            return_to: cut_untrusted(return_to),
        };
        // A path, not `//host` or `/\host` (which browsers read as another host).
        let path_like = return_to.starts_with('/')
            && !return_to.starts_with("//")
            && !return_to.contains('\\')
            && !return_to.chars().any(char::is_control)
            && return_to.len() <= MAX_RETURN_TO_LEN;
        if !path_like {
            return Err(rejected());
        }
        let base = &self.inner.base_url;
        let url = base.join(return_to).map_err(|_| rejected())?;
        if url.origin() != base.origin() {
            return Err(rejected());
        }
        // Checked again once normalised: `/.//host` becomes `//host`.
        let path = &url[url::Position::BeforePath..];
        if path.starts_with("//") || path.contains('\\') {
            return Err(rejected());
        }
        Ok(path.to_owned())
    }

    /// Starts a sign-in of its own, apart from the browser's session: the signed-in
    /// session, if any, stays untouched until a callback succeeds, so that a link to
    /// `/sign-in` from another site signs nobody out. The pending sign-in goes to the
    /// browser, sealed in the sign-in cookie, and nothing to the store: anonymous sign-in
    /// starts cost the app nothing and can evict nobody.
    async fn start_sign_in(
        &self,
        return_to: Option<&str>,
        options: SignInOptions,
    ) -> Result<Response, Error> {
        let return_to = return_to.map(|r| self.same_origin_path(r)).transpose()?;
        let scratch = Arc::new(MemoryStore::new());
        let url = self
            .inner
            .client
            .for_session(scratch.clone())
            .sign_in_with(options)
            .await?;
        let pending = scratch
            .get(SESSION_KEY)
            .await?
            .ok_or_else(|| StorageError::backend("sign-in", "the sign-in stored no session"))?;
        let mut response = Redirect::to(&url).into_response();
        let name = self.sign_in_cookie_name();
        let sealed = self.inner.sign_in_sealer.seal(name, pending);
        let sign_in = self.cookie(name, sealed, Some(SIGN_IN_MAX_AGE));
        self.set_cookie(&mut response, sign_in);
        let return_to_cookie = match return_to {
            // Encoded: a path may hold `;` or `,`, which must not end the cookie's value.
            Some(path) => self.cookie(
                self.return_to_cookie_name(),
                url::form_urlencoded::byte_serialize(path.as_bytes()).collect(),
                Some(SIGN_IN_MAX_AGE),
            ),
            None => self.removal_cookie(self.return_to_cookie_name()),
        };
        self.set_cookie(&mut response, return_to_cookie);
        Ok(response)
    }

    /// The `return_to` path the sign-in cookie pair carries, checked again.
    fn return_to(&self, headers: &HeaderMap) -> String {
        Logto::cookie_value(headers, self.return_to_cookie_name())
            .map(|encoded| {
                url::form_urlencoded::parse(format!("p={encoded}").as_bytes())
                    .map(|(_, path)| path.into_owned())
                    .next()
                    .unwrap_or_default()
            })
            .and_then(|path| self.same_origin_path(&path).ok())
            .unwrap_or_else(|| "/".to_owned())
    }

    pub(crate) fn set_cookie(&self, response: &mut Response, cookie: String) {
        if let Ok(value) = HeaderValue::try_from(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    /// Stores the pending sign-in the callback brought under a new id that nobody saw
    /// before (against session fixation: whoever planted or saw a sign-in cookie learns no
    /// session id), for the callback to complete there.
    async fn store_pending(&self, pending: &str) -> Result<SessionId, Error> {
        let store = &self.inner.store;
        for _ in 0..3 {
            let id = SessionId::random()?;
            // A fresh random id is free unless 256 random bits collided.
            if store
                .compare_and_swap(id.store_key(), Expected::Absent, Some(pending))
                .await?
            {
                return Ok(id);
            }
        }
        Err(StorageError::backend("session", "no free session id").into())
    }

    /// Deletes a session (best effort: a failure is logged, and the session expires anyway).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) async fn delete_session(&self, id: &SessionId) {
        self.forget(id);
        let store = &self.inner.store;
        // Whatever it holds now: a read first could be stale, and its delete then refused.
        let deleted = store.compare_and_swap(id.store_key(), Expected::Any, None);
        if let Err(e) = deleted.await {
            event!(
                warn,
                kind = "storage",
                "a session could not be deleted: {e}"
            );
        }
    }

    /// Handles a back-channel logout request (OpenID Connect Back-Channel Logout 1.0) from
    /// its form body: verifies the logout token (signature, issuer, audience, age, event,
    /// no nonce), refuses a replay of its `jti` (remembered in the store, so across
    /// instances, for the token's lifetime), and deletes every session of the provider
    /// session it names and the user's sessions stored without one (or every session of
    /// the user, when it names no session). Returns how many sessions ended. The `/backchannel-logout` route calls it; an app with its own route
    /// can too.
    pub async fn handle_backchannel_logout(&self, form_body: &[u8]) -> Result<usize, Error> {
        let logout = self
            .inner
            .no_session_client()
            .handle_backchannel_logout(form_body)
            .await?;
        let now = logto_proto::UnixTime::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        // The token's id is recorded and its sessions ended in one atomic step: a replay
        // ends nothing, and a failure records nothing (the provider may try again).
        let ended = self
            .inner
            .store
            .end_sessions_once(&logout.target, &logout.replay_key(), logout.replay_ttl(now))
            .await?;
        ended.ok_or_else(|| {
            let jti = logout.claims.jti.clone().unwrap_or_default();
            let replayed = logto_proto::LogoutTokenError::Replayed { jti };
            logto_proto::ClientError::Protocol(replayed.into()).into()
        })
    }

    /// Refuses a request another site made the browser send (`Sec-Fetch-Site:
    /// cross-site` or `same-site`, or an `Origin` that is not this app's).
    pub(crate) fn refuse_cross_site(&self, headers: &HeaderMap) -> Result<(), Error> {
        let fetch_site = fetch_site(headers);
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        // `same-site` is a sibling subdomain: another app, as far as this one knows.
        let cross_site = matches!(fetch_site, Some("cross-site" | "same-site"))
            || origin.is_some_and(|origin| origin != self.inner.origin);
        match cross_site {
            false => Ok(()),
            true => Err(Error::CrossSiteRequest {
                origin: origin.map(cut_untrusted),
                fetch_site: fetch_site.map(cut_untrusted),
                expected_origin: self.inner.origin.clone(),
            }),
        }
    }
}

async fn sign_in(
    Extension(logto): Extension<Logto>,
    Query(query): Query<SignInQuery>,
) -> Result<Response, Error> {
    let options = SignInOptions::new(logto.callback_url());
    logto
        .start_sign_in(query.return_to.as_deref(), options)
        .await
}

async fn sign_up(
    Extension(logto): Extension<Logto>,
    Query(query): Query<SignInQuery>,
) -> Result<Response, Error> {
    let options = SignInOptions::new(logto.callback_url())
        .interaction_mode(InteractionMode::SignUp)
        .first_screen(FirstScreen::Register);
    logto
        .start_sign_in(query.return_to.as_deref(), options)
        .await
}

fn no_pending_sign_in() -> Error {
    let callback = logto_proto::CallbackError::NoPendingSignIn;
    logto_proto::ClientError::Protocol(callback.into()).into()
}

async fn callback(
    Extension(logto): Extension<Logto>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let pending = logto
        .pending_sign_in(&headers)
        .ok_or_else(no_pending_sign_in)?;
    let id = logto.store_pending(&pending).await?;
    // The URL the provider redirected to, on the configured origin (never the Host header).
    let path_and_query = uri.path_and_query().map_or("/callback", |p| p.as_str());
    let callback_url = format!("{}{path_and_query}", logto.inner.origin);
    if let Err(e) = logto
        .client_for(&id)
        .handle_sign_in_callback(&callback_url)
        .await
    {
        // The signed-in session, if any, is untouched, and the browser keeps its sealed
        // sign-in; the copy stored for this callback goes, so refused callbacks leave the
        // store as it was.
        logto.delete_session(&id).await;
        return Ok(Error::from(e).into_response());
    }
    if let Some(replaced) = logto.session_id(&headers) {
        logto.delete_session(&replaced).await;
    }
    let mut response = Redirect::to(&logto.return_to(&headers)).into_response();
    logto.set_cookie(&mut response, logto.session_cookie(&id));
    for done in [logto.sign_in_cookie_name(), logto.return_to_cookie_name()] {
        logto.set_cookie(&mut response, logto.removal_cookie(done));
    }
    Ok(response)
}

/// `GET /sign-out`: signs out when the browser says the request is the app's own
/// (`Sec-Fetch-Site: same-origin`) or the user's (`none`: typed, a bookmark). Anything else
/// (a sibling subdomain's link, `same-site`; another site; a browser without Fetch
/// Metadata) gets a page whose button POSTs the sign-out, so no other site can sign the
/// user out with a link or an image.
async fn sign_out_get(
    Extension(logto): Extension<Logto>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    match fetch_site(&headers) {
        Some("same-origin" | "none") => logto.sign_out(&headers).await,
        _ => Ok(logto.sign_out_confirmation()),
    }
}

/// The request's `Sec-Fetch-Site` (Fetch Metadata): who made the browser send it.
fn fetch_site(headers: &HeaderMap) -> Option<&str> {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
}

/// `POST /sign-out`: signs out unless another site (or a sibling subdomain) sent it.
async fn sign_out_post(
    Extension(logto): Extension<Logto>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    logto.refuse_cross_site(&headers)?;
    logto.sign_out(&headers).await
}

impl Logto {
    /// Signs the browser's session out and sends it to the provider's end-session page.
    /// When the session could not be ended here (the store unavailable or busy), the answer
    /// is that error (503), with the cookie kept: the session still works, so claiming a
    /// sign-out would leave a stolen cookie valid. Only a provider that cannot be reached
    /// after the local end still gets the redirect (to the after-sign-out page).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    async fn sign_out(&self, headers: &HeaderMap) -> Result<Response, Error> {
        let after_sign_out = format!("{}{}", self.inner.origin, self.inner.after_sign_out);
        let session = self.session(headers).await?;
        let mut location = after_sign_out.clone();
        if let Some(id) = &session.id {
            // The core ends the session in the store before it asks the provider anything:
            // an error of the provider comes after the local end, any other before it.
            match session.sign_out(Some(&after_sign_out)).await {
                Ok(end_session_url) => location = end_session_url,
                Err(
                    e @ (logto_proto::ClientError::Transport(_)
                    | logto_proto::ClientError::Provider(_)),
                ) => {
                    event!(warn, kind = e.kind(), "sign-out without the provider: {e}");
                }
                Err(e) => return Err(e.into()),
            }
            self.delete_session(id).await;
        }
        let mut response = Redirect::to(&location).into_response();
        self.set_cookie(&mut response, self.removal_cookie(self.cookie_name()));
        Ok(response)
    }

    /// The page a sign-out link from elsewhere gets: one button that POSTs the sign-out
    /// (same origin, checked), never framed by another site, never cached.
    fn sign_out_confirmation(&self) -> Response {
        let action = format!("{}/sign-out", self.inner.route_prefix);
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign out</title></head>\
             <body><form method=\"post\" action=\"{action}\">\
             <p>Sign out of this app?</p><button type=\"submit\">Sign out</button>\
             </form></body></html>"
        );
        let mut response = axum::response::Html(body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        response
    }
}

/// Back-Channel Logout 1.0, 2.8: 200 when the logout succeeded, 400 with an OAuth error
/// body when the request is refused, `Cache-Control: no-store` either way.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
async fn backchannel_logout(Extension(logto): Extension<Logto>, body: Bytes) -> Response {
    let mut response = match logto.handle_backchannel_logout(&body).await {
        Ok(ended) => {
            event!(info, ended, "back-channel logout");
            StatusCode::OK.into_response()
        }
        Err(Error::Client(e)) if e.kind() == "logout_token" => {
            event!(warn, kind = e.kind(), "back-channel logout refused: {e}");
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": e.to_string(),
            });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        Err(e) => e.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogtoConfig;

    fn logto(base_url: &str) -> Logto {
        let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
            .app_secret("app-secret")
            .build()
            .unwrap();
        Logto::new(config, base_url).unwrap()
    }

    #[test]
    fn only_http_origins_are_base_urls() {
        let config = || {
            LogtoConfig::builder("https://tenant.logto.app", "app-id")
                .build()
                .unwrap()
        };
        for bad in [
            "localhost:3000",
            "ftp://app.example.com",
            "https://app.example.com/app",
            "https://app.example.com/?x=1",
            "https://user:pw@app.example.com",
        ] {
            let err = Logto::new(config(), bad).unwrap_err();
            assert!(matches!(err, Error::InvalidBaseUrl { .. }), "{bad}: {err}");
        }
        assert!(Logto::new(config(), "https://app.example.com").is_ok());
        for bad in ["auth", "/auth/", "//auth", "/a b", "/a?x"] {
            let built = Logto::builder(config(), "https://app.example.com")
                .route_prefix(bad)
                .build();
            assert!(matches!(built, Err(Error::InvalidPath { .. })), "{bad}");
        }
        for bad in ["home", "//evil.example/"] {
            let built = Logto::builder(config(), "https://app.example.com")
                .after_sign_out(bad)
                .build();
            assert!(matches!(built, Err(Error::InvalidPath { .. })), "{bad}");
        }
    }

    #[test]
    fn cookies_are_host_only_http_only_lax_and_secure_on_https() {
        let https = logto("https://app.example.com");
        let id = SessionId::random().unwrap();
        let cookie = https.session_cookie(&id);
        assert!(cookie.starts_with(&format!("__Host-logto_session={}", id.cookie_value())));
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
        let http = logto("http://localhost:3000").session_cookie(&id);
        assert!(http.starts_with("logto_session="), "{http}");
        assert!(!http.contains("Secure"), "{http}");
        assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
        // The store sees a digest, never the cookie's value.
        assert!(id.store_key().starts_with("logto:"));
        assert!(!id.store_key().contains(id.cookie_value()));
        let again = SessionId::parse(id.cookie_value()).unwrap();
        assert_eq!(again.store_key(), id.store_key());
        assert!(SessionId::parse("short").is_none());
        assert!(SessionId::parse(&"a;".repeat(22)[..43]).is_none());
    }

    #[test]
    fn return_to_must_be_a_path_of_the_app() {
        let logto = logto("https://app.example.com");
        assert_eq!(logto.same_origin_path("/a/b?c=d").unwrap(), "/a/b?c=d");
        assert_eq!(logto.same_origin_path("/").unwrap(), "/");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "relative",
            "/a\nb",
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e//evil.example",
            "",
        ] {
            let err = logto.same_origin_path(bad).unwrap_err();
            assert!(matches!(err, Error::ReturnToRejected { .. }), "{bad:?}");
            assert_eq!(err.http_status(), 400);
        }
        assert!(logto.same_origin_path(&"/a".repeat(2000)).is_err());
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let logto = logto("https://app.example.com");
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let allowed = [
            headers(&[]),
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[("sec-fetch-site", "none")]),
            headers(&[("origin", "https://app.example.com")]),
        ];
        for request in allowed {
            assert!(logto.refuse_cross_site(&request).is_ok(), "{request:?}");
        }
        let refused = [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "https://sub.app.example.com")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "http://app.example.com")]),
        ];
        for request in refused {
            let err = logto.refuse_cross_site(&request).unwrap_err();
            assert_eq!(err.http_status(), 403, "{request:?}");
            assert_eq!(err.kind(), "cross_site_request");
        }
    }
}
