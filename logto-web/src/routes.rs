//! The sign-in, sign-up, callback, sign-out and back-channel logout routes, as rules from
//! a [`WebRequest`] to an [`Answer`].

use crate::session::SessionId;
use crate::{Answer, Error, LogtoWeb, WebRequest};
use logto_proto::adapter::SESSION_KEY;
use logto_proto::{ClientError, FirstScreen, InteractionMode, SignInOptions, StorageError};
use logto_store::{AsyncSessionStore, AsyncStorage, Expected, MemoryStore};
use std::sync::Arc;
use std::time::Duration;

/// How long a sign-in may take, for its cookies (the core refuses older sign-ins anyway).
const SIGN_IN_MAX_AGE: Duration = Duration::from_secs(600);
/// The largest back-channel logout request body an adapter passes on (a logout token is well
/// under 4 KB): anyone can POST there, so the route has this limit whatever the app's.
pub const BACKCHANNEL_LOGOUT_BODY_LIMIT: usize = 64 * 1024;
/// How many fresh ids a callback tries before it gives up (a collision of 256 random bits
/// never happens; a store that answers "taken" every time is broken).
const FRESH_ID_ATTEMPTS: usize = 3;

/// One of the routes a web app serves for Logto, under its
/// [route prefix](crate::WebBuilder::route_prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `GET /sign-in[?return_to=/path]`: starts a sign-in and redirects to Logto.
    SignIn,
    /// `GET /sign-up[?return_to=/path]`: the same, opening Logto's register page.
    SignUp,
    /// `GET /callback`: completes the sign-in (a new session id), then redirects to the
    /// `return_to` path (default `/`).
    Callback,
    /// `GET` or `POST /sign-out`: signs out and redirects to Logto's end-session page.
    SignOut,
    /// `POST /backchannel-logout`: Logto's back-channel logout.
    BackchannelLogout,
}

impl Route {
    /// Every route, in the order above.
    pub const ALL: [Route; 5] = [
        Route::SignIn,
        Route::SignUp,
        Route::Callback,
        Route::SignOut,
        Route::BackchannelLogout,
    ];

    /// The route's path after the prefix: `/sign-in`, `/sign-up`, `/callback`, `/sign-out`,
    /// `/backchannel-logout`.
    pub fn path(self) -> &'static str {
        match self {
            Route::SignIn => "/sign-in",
            Route::SignUp => "/sign-up",
            Route::Callback => "/callback",
            Route::SignOut => "/sign-out",
            Route::BackchannelLogout => "/backchannel-logout",
        }
    }

    /// The methods the route answers, for the adapter's router (any other gets 405).
    /// `HEAD` is not one of them: a sign-in start or a sign-out is no request to make
    /// without wanting its answer.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Route::SignIn | Route::SignUp | Route::Callback => &["GET"],
            Route::SignOut => &["GET", "POST"],
            Route::BackchannelLogout => &["POST"],
        }
    }
}

impl LogtoWeb {
    /// The path `route` is served at: the route prefix and the route's path.
    pub fn route_path(&self, route: Route) -> String {
        format!("{}{}", self.inner.route_prefix, route.path())
    }

    /// Answers a request to `route` (see [`Route`]); an adapter sends the answer as it is.
    ///
    /// `return_to` must be a path of this app; anything else is refused with 400. A sign-out
    /// `POST` from another site or a sibling subdomain is refused with 403; a sign-out `GET`
    /// that is not the app's own link (`Sec-Fetch-Site` other than `same-origin` or `none`)
    /// gets a page whose button POSTs the sign-out. When the session cannot be ended here
    /// (the store unavailable), the answer is 503 and the session stays.
    pub async fn handle(&self, route: Route, request: &WebRequest<'_>) -> Answer {
        let answered = match (route, request.method) {
            (Route::SignIn, "GET") => {
                self.start_sign_in(request, SignInOptions::new(self.callback_url()))
                    .await
            }
            (Route::SignUp, "GET") => {
                let options = SignInOptions::new(self.callback_url())
                    .interaction_mode(InteractionMode::SignUp)
                    .first_screen(FirstScreen::Register);
                self.start_sign_in(request, options).await
            }
            (Route::Callback, "GET") => self.callback(request).await,
            (Route::SignOut, "GET") => self.sign_out_get(request).await,
            (Route::SignOut, "POST") => self.sign_out_post(request).await,
            (Route::BackchannelLogout, "POST") => {
                if request.body.len() > BACKCHANNEL_LOGOUT_BODY_LIMIT {
                    return Answer::status(413).header("cache-control", "no-store".into());
                }
                return self.backchannel_logout(request.body).await;
            }
            _ => {
                let allow = route.methods().join(", ");
                return Answer::status(405).header("allow", allow);
            }
        };
        answered.unwrap_or_else(|e| e.answer())
    }

    /// Starts a sign-in of its own, apart from the browser's session: the signed-in
    /// session, if any, stays untouched until a callback succeeds, so that a link to
    /// `/sign-in` from another site signs nobody out. The pending sign-in goes to the
    /// browser, sealed in the sign-in cookie, and nothing to the store: anonymous sign-in
    /// starts cost the app nothing and can evict nobody.
    async fn start_sign_in(
        &self,
        request: &WebRequest<'_>,
        options: SignInOptions,
    ) -> Result<Answer, Error> {
        let return_to = match request.query_values("return_to").as_slice() {
            [] => None,
            [one] => Some(self.same_origin_path(one)?),
            // Which one the sender meant is anybody's guess: none.
            [first, ..] => {
                return Err(Error::ReturnToRejected {
                    return_to: logto_proto::cut_untrusted(first),
                })
            }
        };
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
        let mut answer = Answer::redirect(&url);
        let name = self.sign_in_cookie_name();
        let sealed = self.inner.sign_in_sealer.seal(name, pending);
        answer.set_cookie(self.cookie(name, sealed, Some(SIGN_IN_MAX_AGE)));
        answer.set_cookie(match return_to {
            // Encoded: a path may hold `;` or `,`, which must not end the cookie's value.
            Some(path) => self.cookie(
                self.return_to_cookie_name(),
                url::form_urlencoded::byte_serialize(path.as_bytes()).collect(),
                Some(SIGN_IN_MAX_AGE),
            ),
            None => self.removal_cookie(self.return_to_cookie_name()),
        });
        Ok(answer)
    }

    /// The `return_to` path the sign-in cookie pair carries, checked again.
    fn return_to(&self, request: &WebRequest<'_>) -> String {
        request
            .headers
            .cookie(self.return_to_cookie_name())
            .map(|encoded| {
                url::form_urlencoded::parse(format!("p={encoded}").as_bytes())
                    .map(|(_, path)| path.into_owned())
                    .next()
                    .unwrap_or_default()
            })
            .and_then(|path| self.same_origin_path(&path).ok())
            .unwrap_or_else(|| "/".to_owned())
    }

    /// Completes a sign-in: the pending sign-in the sealed cookie brought is stored under a
    /// fresh id, completed there, and only then replaces the browser's session.
    async fn callback(&self, request: &WebRequest<'_>) -> Result<Answer, Error> {
        let pending = self
            .pending_sign_in(&request.headers)
            .ok_or_else(no_pending_sign_in)?;
        let id = self.store_pending(&pending).await?;
        // The URL the provider redirected to, on the configured origin (never the Host header).
        let callback_url = format!("{}{}", self.origin(), request.path_and_query);
        if let Err(e) = self
            .client_for(&id)
            .handle_sign_in_callback(&callback_url)
            .await
        {
            // The signed-in session, if any, is untouched, and the browser keeps its sealed
            // sign-in; the copy stored for this callback goes, so refused callbacks leave the
            // store as it was.
            self.delete_session(&id).await;
            return Ok(Error::from(e).answer());
        }
        if let Some(replaced) = self.session_id(&request.headers) {
            self.delete_session(&replaced).await;
        }
        let mut answer = Answer::redirect(&self.return_to(request));
        answer.set_cookie(self.session_cookie(&id));
        for done in [self.sign_in_cookie_name(), self.return_to_cookie_name()] {
            answer.set_cookie(self.removal_cookie(done));
        }
        Ok(answer)
    }

    /// Stores the pending sign-in the callback brought under a new id that nobody saw
    /// before (against session fixation: whoever planted or saw a sign-in cookie learns no
    /// session id), for the callback to complete there.
    async fn store_pending(&self, pending: &str) -> Result<SessionId, Error> {
        let store = &self.inner.store;
        for _ in 0..FRESH_ID_ATTEMPTS {
            let id = SessionId::random()?;
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
        // Whatever it holds now: a read first could be stale, and its delete then refused.
        let deleted = self
            .inner
            .store
            .compare_and_swap(id.store_key(), Expected::Any, None);
        if let Err(e) = deleted.await {
            event!(
                warn,
                kind = "storage",
                "a session could not be deleted: {e}"
            );
        }
    }

    /// `GET /sign-out`: signs out when the browser says the request is the app's own
    /// (`Sec-Fetch-Site: same-origin`) or the user's (`none`: typed, a bookmark). Anything
    /// else (a sibling subdomain's link, `same-site`; another site; a browser without Fetch
    /// Metadata) gets a page whose button POSTs the sign-out, so no other site can sign the
    /// user out with a link or an image.
    async fn sign_out_get(&self, request: &WebRequest<'_>) -> Result<Answer, Error> {
        match request.headers.fetch_site() {
            Some("same-origin" | "none") => self.sign_out(request).await,
            _ => Ok(self.sign_out_confirmation()),
        }
    }

    /// `POST /sign-out`: signs out unless another site (or a sibling subdomain) sent it.
    async fn sign_out_post(&self, request: &WebRequest<'_>) -> Result<Answer, Error> {
        self.refuse_cross_site(&request.headers)?;
        self.sign_out(request).await
    }

    /// Signs the browser's session out and sends it to the provider's end-session page.
    /// When the session could not be ended here (the store unavailable or busy), the answer
    /// is that error (503), with the cookie kept: the session still works, so claiming a
    /// sign-out would leave a stolen cookie valid. Only a provider that cannot be reached
    /// after the local end still gets the redirect (to the after-sign-out page).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    async fn sign_out(&self, request: &WebRequest<'_>) -> Result<Answer, Error> {
        let after_sign_out = format!("{}{}", self.origin(), self.inner.after_sign_out);
        let session = self.session(&request.headers).await?;
        let mut location = after_sign_out.clone();
        if let Some(id) = &session.id {
            // The core ends the session in the store before it asks the provider anything:
            // an error of the provider comes after the local end, any other before it.
            match session.sign_out(Some(&after_sign_out)).await {
                Ok(end_session_url) => location = end_session_url,
                Err(e @ (ClientError::Transport(_) | ClientError::Provider(_))) => {
                    event!(warn, kind = e.kind(), "sign-out without the provider: {e}");
                }
                Err(e) => return Err(e.into()),
            }
            self.delete_session(id).await;
        }
        let mut answer = Answer::redirect(&location);
        answer.set_cookie(self.removal_cookie(self.cookie_name()));
        Ok(answer)
    }

    /// The page a sign-out link from elsewhere gets: one button that POSTs the sign-out
    /// (same origin, checked), never framed by another site, never cached.
    fn sign_out_confirmation(&self) -> Answer {
        let action = self.route_path(Route::SignOut);
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign out</title></head>\
             <body><form method=\"post\" action=\"{action}\">\
             <p>Sign out of this app?</p><button type=\"submit\">Sign out</button>\
             </form></body></html>"
        );
        Answer::html(200, body)
            .header("cache-control", "no-store".into())
            .header("content-security-policy", "frame-ancestors 'none'".into())
            .header("x-frame-options", "DENY".into())
    }

    /// Handles a back-channel logout request (OpenID Connect Back-Channel Logout 1.0) from
    /// its form body: verifies the logout token (signature, issuer, audience, age, event,
    /// no nonce), refuses a replay of its `jti` (remembered in the store, so across
    /// instances, for the token's lifetime), and deletes every session of the provider
    /// session it names and the user's sessions stored without one (or every session of
    /// the user, when it names no session). Returns how many sessions ended. The
    /// `/backchannel-logout` route calls it; an app with its own route can too.
    pub async fn handle_backchannel_logout(&self, form_body: &[u8]) -> Result<usize, Error> {
        let logout = self
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
            let replayed = logto_proto::errors::LogoutTokenError::Replayed { jti };
            ClientError::Protocol(replayed.into()).into()
        })
    }

    /// Back-Channel Logout 1.0, 2.8: 200 when the logout succeeded, 400 with an OAuth error
    /// body when the request is refused, `Cache-Control: no-store` either way.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    async fn backchannel_logout(&self, body: &[u8]) -> Answer {
        let answer = match self.handle_backchannel_logout(body).await {
            Ok(ended) => {
                event!(info, ended, "back-channel logout");
                Answer::status(200)
            }
            Err(Error::Client(e)) if e.kind() == "logout_token" => {
                event!(warn, kind = e.kind(), "back-channel logout refused: {e}");
                let body = serde_json::json!({
                    "error": "invalid_request",
                    "error_description": e.to_string(),
                });
                Answer::json(400, &body)
            }
            Err(e) => e.answer(),
        };
        // An error's answer carries it already.
        match answer.header_value("cache-control") {
            Some(_) => answer,
            None => answer.header("cache-control", "no-store".into()),
        }
    }
}

fn no_pending_sign_in() -> Error {
    let callback = logto_proto::errors::CallbackError::NoPendingSignIn;
    ClientError::Protocol(callback.into()).into()
}
