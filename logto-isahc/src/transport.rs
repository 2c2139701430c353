//! Sending the core's requests with isahc.

use futures_lite::AsyncReadExt as _;
use isahc::config::{Configurable, RedirectPolicy};
use isahc::HttpClient;
use logto_driver::aio::{AsyncTransport, TransportFuture};
use logto_driver::{text_headers, RequestLimits};
use logto_proto::adapter::{HttpRequest, HttpResponse};
use logto_proto::Config;
use logto_proto::{TransportError, TransportErrorKind};

/// The async driver's [`AsyncTransport`] over an [`isahc::HttpClient`] (curl on its own
/// thread: any executor). Whatever the client's own configuration, every request is sent
/// with the driver's limits: no redirects, the config's timeouts and body limit.
#[derive(Debug, Clone)]
pub struct IsahcTransport {
    client: HttpClient,
}

impl IsahcTransport {
    /// A transport sending with `client` (the app's own: proxy, root certificates).
    pub fn new(client: HttpClient) -> IsahcTransport {
        IsahcTransport { client }
    }

    /// The client every session of a [`Config`] shares: keep-alive, timeouts, no redirects,
    /// and a `User-Agent` naming this crate.
    pub fn default_client(config: &Config) -> Result<HttpClient, TransportError> {
        HttpClient::builder()
            .timeout(config.request_timeout())
            .connect_timeout(config.connect_timeout())
            .redirect_policy(RedirectPolicy::None)
            .default_header(
                "user-agent",
                concat!("logto-isahc/", env!("CARGO_PKG_VERSION")),
            )
            .build()
            .map_err(|e| transport_error(&e, ""))
    }

    async fn exchange(
        &self,
        request: HttpRequest,
        limits: RequestLimits,
    ) -> Result<HttpResponse, TransportError> {
        let mut builder = isahc::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url)
            .redirect_policy(RedirectPolicy::None)
            .timeout(limits.timeout)
            .connect_timeout(limits.connect_timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let url = request.url;
        let http_request = builder
            .body(request.body)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, &url, e.to_string()))?;
        let response = self
            .client
            .send_async(http_request)
            .await
            .map_err(|e| transport_error(&e, &url))?;
        let status = response.status().as_u16();
        let headers = text_headers(response.headers());
        let mut body = Vec::new();
        response
            .into_body()
            .take(limits.max_body + 1)
            .read_to_end(&mut body)
            .await
            .map_err(|e| {
                let kind = if e.kind() == std::io::ErrorKind::TimedOut {
                    TransportErrorKind::Timeout
                } else {
                    TransportErrorKind::Other
                };
                TransportError::new(kind, &url, e.to_string())
            })?;
        Ok(HttpResponse::new(status, body).with_headers(headers))
    }
}

impl AsyncTransport for IsahcTransport {
    fn send(&self, request: HttpRequest, limits: RequestLimits) -> TransportFuture<'_> {
        Box::pin(self.exchange(request, limits))
    }
}

/// `url`: the request's (its host is kept), or empty when no request was made.
fn transport_error(e: &isahc::Error, url: &str) -> TransportError {
    use isahc::error::ErrorKind;
    let kind = match e.kind() {
        ErrorKind::Timeout => TransportErrorKind::Timeout,
        ErrorKind::ConnectionFailed | ErrorKind::NameResolution => TransportErrorKind::Connect,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, url, e.to_string())
}
