//! The HTTP transport the app's clients send with when it passes none: reqwest (the
//! `reqwest` feature, on by default: the tokio stack axum and actix-web already run), else
//! isahc (the `isahc` feature). Without either, the app passes its own
//! ([`WebBuilder::transport`](crate::WebBuilder::transport) or
//! [`WebBuilder::client`](crate::WebBuilder::client), and
//! [`ApiProtection::with_validator`](crate::ApiProtection::with_validator)).

use crate::Error;
use logto_driver::aio::{ApiValidator, AsyncTransport, LogtoClient};
use logto_proto::Config;
use logto_store::{MemoryStore, MemoryStoreLimits};

/// A client of `config` over `transport`, with its own in-memory session: the template
/// every session's client is derived from (its session is never used for a browser).
pub(crate) fn client_over(config: Config, transport: impl AsyncTransport) -> LogtoClient {
    let store = MemoryStore::with_limits(MemoryStoreLimits::keep_signed_in());
    LogtoClient::with_transport(config, store, transport)
}

/// A client of `config` with its own in-memory session (the template every session's
/// client is derived from), over the default transport.
pub(crate) fn default_client(config: Config) -> Result<LogtoClient, Error> {
    #[cfg(feature = "reqwest")]
    return Ok(logto_reqwest::LogtoClient::new(config)?.into());
    #[cfg(all(feature = "isahc", not(feature = "reqwest")))]
    return Ok(logto_isahc::LogtoClient::new(config)?.into());
    #[cfg(not(any(feature = "reqwest", feature = "isahc")))]
    {
        let _ = config;
        Err(no_transport())
    }
}

/// A validator for the tokens of the tenant at `endpoint`, over the default transport.
pub(crate) fn default_validator(endpoint: &str) -> Result<ApiValidator, Error> {
    #[cfg(feature = "reqwest")]
    return Ok(logto_reqwest::ApiValidator::new(endpoint)?.into());
    #[cfg(all(feature = "isahc", not(feature = "reqwest")))]
    return Ok(logto_isahc::ApiValidator::new(endpoint)?.into());
    #[cfg(not(any(feature = "reqwest", feature = "isahc")))]
    {
        let _ = endpoint;
        Err(no_transport())
    }
}

/// The error of a default asked for in a build without a transport feature.
#[cfg(not(any(feature = "reqwest", feature = "isahc")))]
fn no_transport() -> Error {
    Error::Client(logto_proto::ClientError::Protocol(
        logto_proto::Error::Usage(
            "no HTTP transport: enable the `reqwest` feature (of logto-axum, logto-actix or \
             logto-web) or `isahc` (of logto-axum or logto-web), or pass one with \
             `LogtoBuilder::transport` or `LogtoBuilder::client` (and an API's with \
             `LogtoApi::with_validator`)",
        ),
    ))
}
