//! The HTTP transport the app's clients send with when it passes none: reqwest (the
//! `reqwest` feature, on by default: the tokio stack axum already runs), else isahc (the
//! `isahc` feature). Without either, the app passes its own (`LogtoBuilder::transport` or
//! `LogtoBuilder::client`, `LogtoApi::with_validator`).

use crate::Error;
use logto_driver::aio::{ApiValidator, LogtoClient};
use logto_proto::Config;

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
            "no HTTP transport: enable logto-axum's `reqwest` or `isahc` feature, or pass one \
         with `LogtoBuilder::transport` or `LogtoBuilder::client` (and an API's with \
         `LogtoApi::with_validator`)",
        ),
    ))
}
