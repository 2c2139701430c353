//! A native app's sign-in through the system browser (OAuth 2.0 for Native Apps, RFC 8252):
//! a loopback redirect on a port chosen now, one callback awaited, then the browser answered
//! and the port closed.

use crate::blocking::LogtoClient;
use logto_proto::errors::CallbackError;
use logto_proto::{
    ClientError as Error, IdTokenClaims, SignInOptions, TransportError, TransportErrorKind,
};
use std::time::{Duration, Instant};

/// How long [`LogtoClient::sign_in_with_browser`] waits for the user by default.
pub const DEFAULT_BROWSER_SIGN_IN_WAIT: Duration = Duration::from_secs(300);

/// The loopback redirect's path.
const CALLBACK_PATH: &str = "/callback";

const SIGNED_IN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Signed in</title></head><body><h1 id=\"signed-in\">Signed in</h1>\
<p>You can close this tab and go back to the terminal.</p></body></html>";

const FAILED_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Sign-in failed</title></head><body><h1 id=\"sign-in-failed\">Sign-in failed</h1>\
<p>Go back to the terminal to see why.</p></body></html>";

/// How [`LogtoClient::sign_in_with_browser`] signs in.
#[derive(Debug, Clone)]
#[must_use]
pub struct BrowserSignIn {
    wait: Duration,
    open_browser: bool,
    options: SignInOptions,
}

impl Default for BrowserSignIn {
    fn default() -> Self {
        BrowserSignIn::new()
    }
}

impl BrowserSignIn {
    /// Opens the system browser and waits up to [`DEFAULT_BROWSER_SIGN_IN_WAIT`].
    pub fn new() -> Self {
        BrowserSignIn {
            wait: DEFAULT_BROWSER_SIGN_IN_WAIT,
            open_browser: true,
            // The redirect URI is set once the port is known.
            options: SignInOptions::new(""),
        }
    }

    /// How long to wait for the callback.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Whether to open the system browser (`false`: the caller shows the URL only, e.g. on
    /// a machine without a desktop or in a test).
    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = open;
        self
    }

    /// The sign-in's options (first screen, login hint, prompt, ...); their redirect URI is
    /// replaced by the loopback one.
    pub fn options(mut self, options: SignInOptions) -> Self {
        self.options = options;
        self
    }
}

impl LogtoClient {
    /// Signs in a native app through the system browser (RFC 8252): listens on
    /// `127.0.0.1` on a port the OS picks, starts a sign-in whose redirect URI is
    /// `http://127.0.0.1:<port>/callback` (Logto matches any port of a native app's loopback
    /// redirect), gives the sign-in URL to `show` (print it: the browser may not open),
    /// opens the browser unless told not to, and waits for the callback. The browser gets a
    /// small page saying how it went; the listener is dropped before this returns, and the
    /// port closes a moment later, as the listener's accept thread ends.
    ///
    /// A request that is not this sign-in's callback (another path, another `state`: any
    /// local process can reach the port) is answered and ignored. Nothing coming back within
    /// the wait is `Error::Protocol(Callback(NotReceived { .. }))`.
    pub fn sign_in_with_browser(
        &self,
        sign_in: BrowserSignIn,
        show: impl FnOnce(&str),
    ) -> Result<IdTokenClaims, Error> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| {
            Error::Transport(TransportError::new(
                TransportErrorKind::Connect,
                "http://127.0.0.1:0",
                e.to_string(),
            ))
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .ok_or_else(|| Error::Protocol(logto_proto::Error::Usage("no loopback port")))?;
        let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let url = self.sign_in_with(sign_in.options.with_redirect_uri(&redirect_uri))?;
        show(&url);
        if sign_in.open_browser {
            // The URL was shown: a browser that does not open is no failure.
            let _ = webbrowser::open(&url);
        }
        let deadline = Instant::now() + sign_in.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let request = match server.recv_timeout(left) {
                Ok(Some(request)) => request,
                Ok(None) | Err(_) => {
                    return Err(Error::Protocol(
                        CallbackError::NotReceived {
                            waited_secs: sign_in.wait.as_secs(),
                        }
                        .into(),
                    ))
                }
            };
            let path = request.url().split('?').next().unwrap_or_default();
            if path != CALLBACK_PATH {
                let _ = request.respond(tiny_http::Response::empty(404));
                continue;
            }
            let callback = format!("http://127.0.0.1:{port}{}", request.url());
            let outcome = self.handle_sign_in_callback(&callback);
            let not_ours = matches!(
                &outcome,
                Err(Error::Protocol(logto_proto::Error::Callback(
                    CallbackError::MissingState | CallbackError::StateMismatch
                )))
            );
            let (status, page) = match &outcome {
                Ok(_) => (200, SIGNED_IN_PAGE),
                Err(_) => (400, FAILED_PAGE),
            };
            let mut answer = tiny_http::Response::from_string(page).with_status_code(status);
            if let Ok(html) =
                tiny_http::Header::from_bytes("Content-Type", "text/html; charset=utf-8")
            {
                answer.add_header(html);
            }
            let _ = request.respond(answer);
            if !not_ours {
                return outcome;
            }
        }
    }
}
