//! The HTTP transport the app's clients send with when it passes none: reqwest (the
//! `reqwest` feature, on by default: the tokio stack axum already runs), else isahc (the
//! `isahc` feature).

use crate::Error;
use logto_driver::aio::LogtoClient;
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
        Err(Error::Client(logto_proto::ClientError::Protocol(
            logto_proto::Error::Usage(
                "no HTTP transport: enable logto-axum's `reqwest` or `isahc` feature, \
                 or pass one with `LogtoBuilder::transport` or `LogtoBuilder::client`",
            ),
        )))
    }
}
