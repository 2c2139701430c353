//! The Logto state of an actix-web app: the client, the session store and the base URL,
//! built once and shared by the routes and the extractors.

use crate::Error;
use logto_proto::Config as LogtoConfig;
use logto_web::{LogtoWeb, WebBuilder};
use std::fmt;

/// Logto for an actix-web app: the app's [`LogtoClient`](logto_driver::aio::LogtoClient), its session store and its base
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
}
