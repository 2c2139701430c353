//! Sending the core's requests with ureq.

use logto_proto::{Config, HttpRequest, HttpResponse};
use logto_proto::{TransportError, TransportErrorKind};

/// Largest response body read (discovery, JWKS and tokens are a few KB).
const MAX_BODY: u64 = 1024 * 1024;

/// The agent every client of a [`Config`] shares: keep-alive, timeouts, no redirects, and a
/// `User-Agent` naming this crate.
pub(crate) fn agent(config: &Config) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout()))
        .timeout_global(Some(config.request_timeout()))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("logto-ureq/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub(crate) fn send(
    agent: &ureq::Agent,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let mut builder = ureq::http::Request::builder()
        .method(request.method.as_str())
        .uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let url = request.url.as_str();
    let invalid =
        |e: ureq::http::Error| TransportError::new(TransportErrorKind::Other, url, e.to_string());
    // A GET goes without a body at all (an empty one would still be framed). Redirects stay
    // off and statuses stay values whatever agent the app passed: the core decides on
    // every answer itself.
    let response = if request.body.is_empty() {
        agent.run(no_redirects(agent, builder.body(()).map_err(invalid)?))
    } else {
        agent.run(no_redirects(
            agent,
            builder.body(request.body).map_err(invalid)?,
        ))
    }
    .map_err(|e| transport_error(e, url))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| transport_error(e, url))?;
    Ok(HttpResponse::new(status, body).with_headers(headers))
}

fn no_redirects<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: ureq::http::Request<S>,
) -> ureq::http::Request<S> {
    agent
        .configure_request(request)
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
}

fn transport_error(e: ureq::Error, url: &str) -> TransportError {
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => TransportErrorKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            TransportErrorKind::Timeout
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportErrorKind::Connect
        }
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, url, e.to_string())
}
