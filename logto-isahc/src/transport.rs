//! Sending the core's requests with isahc.

use body::read_limited;
use isahc::config::{Configurable, RedirectPolicy};
use isahc::{AsyncBody, HttpClient};
use logto_proto::{Config, HttpRequest, HttpResponse};
use logto_proto::{TransportError, TransportErrorKind};

/// Largest response body read (discovery, JWKS and tokens are a few KB).
const MAX_BODY: usize = 1024 * 1024;

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
        .map_err(|e| transport_error(&e))
}

pub(crate) async fn send(
    client: &HttpClient,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let mut builder = isahc::Request::builder()
        .method(request.method.as_str())
        .uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let http_request = builder.body(request.body).map_err(|e| TransportError {
        kind: TransportErrorKind::Other,
        message: e.to_string(),
    })?;
    let response = client
        .send_async(http_request)
        .await
        .map_err(|e| transport_error(&e))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body: AsyncBody = response.into_body();
    let body = read_limited(body, MAX_BODY)
        .await
        .map_err(|e| TransportError {
            kind: if e.kind() == std::io::ErrorKind::TimedOut {
                TransportErrorKind::Timeout
            } else {
                TransportErrorKind::Other
            },
            message: e.to_string(),
        })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(e: &isahc::Error) -> TransportError {
    use isahc::error::ErrorKind;
    let kind = match e.kind() {
        ErrorKind::Timeout => TransportErrorKind::Timeout,
        ErrorKind::ConnectionFailed | ErrorKind::NameResolution => TransportErrorKind::Connect,
        _ => TransportErrorKind::Other,
    };
    TransportError {
        kind,
        message: e.to_string(),
    }
}

mod body {
    //! Reads an async body up to a limit.
    use futures_io::AsyncRead;
    use std::pin::Pin;
    use std::task::Context;

    pub(crate) async fn read_limited<R: AsyncRead + Unpin>(
        mut reader: R,
        limit: usize,
    ) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = std::future::poll_fn(|cx: &mut Context<'_>| {
                Pin::new(&mut reader).poll_read(cx, &mut buf)
            })
            .await?;
            if n == 0 || out.len() >= limit {
                return Ok(out);
            }
            let room = limit - out.len();
            out.extend_from_slice(&buf[..n.min(room)]);
        }
    }
}
