//! Sending the core's requests with isahc.

use futures_lite::AsyncReadExt as _;
use isahc::config::{Configurable, RedirectPolicy};
use isahc::HttpClient;
use logto_proto::{Config, HttpRequest, HttpResponse};
use logto_proto::{TransportError, TransportErrorKind};

/// Largest response body read (discovery, JWKS and tokens are a few KB); a larger one is a
/// transport error, as with logto-ureq.
const MAX_BODY: u64 = 1024 * 1024;

/// The client every session of a [`Config`] shares: keep-alive, timeouts, no redirects, and
/// a `User-Agent` naming this crate.
pub(crate) fn client(config: &Config) -> Result<HttpClient, TransportError> {
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

pub(crate) async fn send(
    client: &HttpClient,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    // Redirects stay off whatever client the app passed: the core decides on every answer.
    let mut builder = isahc::Request::builder()
        .method(request.method.as_str())
        .uri(&request.url)
        .redirect_policy(RedirectPolicy::None);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let url = request.url;
    let http_request = builder
        .body(request.body)
        .map_err(|e| TransportError::new(TransportErrorKind::Other, &url, e.to_string()))?;
    let response = client
        .send_async(http_request)
        .await
        .map_err(|e| transport_error(&e, &url))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    response
        .into_body()
        .take(MAX_BODY + 1)
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
    if body.len() as u64 > MAX_BODY {
        return Err(TransportError::new(
            TransportErrorKind::Other,
            &url,
            format!("the response body is larger than the limit of {MAX_BODY} bytes"),
        ));
    }
    Ok(HttpResponse::new(status, body).with_headers(headers))
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
