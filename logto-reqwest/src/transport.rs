//! Sending the core's requests with reqwest.

use bytes::Bytes;
use http_body_util::Full;
use logto_driver::aio::{AsyncTransport, SleepFuture, TransportFuture};
use logto_driver::{text_headers, RequestLimits};
use logto_proto::adapter::{HttpRequest, HttpResponse};
use logto_proto::Config;
use logto_proto::{TransportError, TransportErrorKind};
use std::time::Duration;

/// The async driver's [`AsyncTransport`] over a [`reqwest::Client`], on tokio (its timer
/// bounds every request).
///
/// Every request is sent with the driver's limits whatever the client's own configuration:
/// the config's request timeout, and the body limit. reqwest sets its redirect policy (and
/// its connect timeout) per client, not per request, so give an app's own client
/// `.redirect(reqwest::redirect::Policy::none())`, or let [`from_builder`](Self::from_builder)
/// set both. With a client that follows redirects anyway:
/// - a request body (a code, a PKCE verifier, a refresh token, a `client_secret_post`
///   secret) is never sent again: it goes as a body reqwest cannot replay, so a 307 or 308
///   comes back as the answer, and a 301, 302 or 303 is followed without it;
/// - an answer that comes from another URL than the one asked (a redirect the client
///   followed) is refused as a transport error, never read as the provider's.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport sending with `client` (the app's own: proxy, root certificates,
    /// middleware-free `reqwest::Client`), built with `redirect(Policy::none())`.
    pub fn new(client: reqwest::Client) -> ReqwestTransport {
        ReqwestTransport { client }
    }

    /// A transport sending with the client `builder` builds (the app's proxy, root
    /// certificates, pool settings), with what the SDK needs set over it: no redirects, and
    /// the connect timeout of `config`.
    ///
    /// ```no_run
    /// use logto_reqwest::{reqwest, LogtoConfig, ReqwestTransport};
    /// # fn example(config: LogtoConfig) -> Result<(), logto_reqwest::TransportError> {
    /// let builder = reqwest::Client::builder().proxy(reqwest::Proxy::https("http://proxy:3128").unwrap());
    /// let transport = ReqwestTransport::from_builder(builder, &config)?;
    /// # let _ = transport; Ok(()) }
    /// ```
    pub fn from_builder(
        builder: reqwest::ClientBuilder,
        config: &Config,
    ) -> Result<ReqwestTransport, TransportError> {
        Ok(ReqwestTransport::new(build_for_sdk(builder, config)?))
    }

    /// The client every session of a [`Config`] shares: keep-alive, the config's timeouts,
    /// no redirects, and a `User-Agent` naming this crate.
    pub fn default_client(config: &Config) -> Result<reqwest::Client, TransportError> {
        let builder = reqwest::Client::builder()
            .timeout(config.request_timeout())
            .user_agent(concat!("logto-reqwest/", env!("CARGO_PKG_VERSION")));
        build_for_sdk(builder, config)
    }

    async fn exchange(
        &self,
        request: HttpRequest,
        limits: RequestLimits,
    ) -> Result<HttpResponse, TransportError> {
        let url = request.url;
        let invalid = |e: &dyn std::fmt::Display| {
            TransportError::new(TransportErrorKind::Other, &url, e.to_string())
        };
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|e| invalid(&e))?;
        // Parsed once here: the URL the answer must come from, in reqwest's own form.
        let requested = reqwest::Url::parse(&url).map_err(|e| invalid(&e))?;
        let mut builder = self
            .client
            .request(method, requested.clone())
            .timeout(limits.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        // A GET goes without a body at all (an empty one would still be framed). A body goes
        // as one reqwest cannot replay, so that no redirect sends its secrets elsewhere.
        if !request.body.is_empty() {
            let once = Full::new(Bytes::from(request.body));
            builder = builder.body(reqwest::Body::wrap(once));
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_error(&e, &url))?;
        if *response.url() != requested {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                &url,
                "the HTTP client followed a redirect (build it with `redirect::Policy::none()`)",
            ));
        }
        let status = response.status().as_u16();
        let headers = text_headers(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&e, &url))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limits.max_body {
                return Err(limits.body_too_large(&url));
            }
        }
        Ok(HttpResponse::new(status, body).with_headers(headers))
    }
}

impl AsyncTransport for ReqwestTransport {
    fn send(&self, request: HttpRequest, limits: RequestLimits) -> TransportFuture<'_> {
        Box::pin(self.exchange(request, limits))
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// What building a client without a TLS crypto provider is told (the `rustcrypto` build).
#[cfg(all(feature = "rustcrypto", not(feature = "aws-lc")))]
const NO_CRYPTO_PROVIDER: &str = "no rustls CryptoProvider: with the `rustcrypto` feature, \
     install one as the process default (CryptoProvider::install_default) before the first \
     client is built, or enable the `aws-lc` feature";

/// The client `builder` builds, with what the SDK needs of every client set over it (reqwest
/// takes both per client, not per request): no redirects, the connect timeout of `config`.
fn build_for_sdk(
    builder: reqwest::ClientBuilder,
    config: &Config,
) -> Result<reqwest::Client, TransportError> {
    #[cfg(all(feature = "rustcrypto", not(feature = "aws-lc")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // reqwest would panic building its TLS configuration; the app is told what to do.
        return Err(TransportError::new(
            TransportErrorKind::Connect,
            config.endpoint(),
            NO_CRYPTO_PROVIDER,
        ));
    }
    builder
        .connect_timeout(config.connect_timeout())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| transport_error(&e, config.endpoint()))
}

/// The error's kind and its causes' messages (reqwest's own says little), without the
/// request's URL (the error keeps its host).
fn transport_error(e: &reqwest::Error, url: &str) -> TransportError {
    let kind = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    let mut message = e.to_string();
    if let Some(u) = e.url() {
        message = message.replace(&format!(" ({u})"), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    TransportError::new(kind, url, message)
}

#[cfg(all(test, feature = "rustcrypto", not(feature = "aws-lc")))]
mod tests {
    use logto_proto::{Config, TransportErrorKind};

    #[test]
    fn a_client_without_a_crypto_provider_is_a_connect_error_saying_what_to_install() {
        let config = Config::builder("https://tenant.logto.app", "app-id")
            .build()
            .unwrap();
        let e = super::ReqwestTransport::default_client(&config).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Connect);
        assert_eq!(e.host, "tenant.logto.app");
        assert!(e.message.contains("CryptoProvider::install_default"), "{e}");
    }
}
