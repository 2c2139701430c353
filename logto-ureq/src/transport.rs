//! Sending the core's requests with ureq.

use logto_driver::blocking::Transport;
use logto_driver::{text_headers, RequestLimits};
use logto_proto::{Config, HttpRequest, HttpResponse};
use logto_proto::{TransportError, TransportErrorKind};

/// The blocking driver's [`Transport`] over a [`ureq::Agent`]. Whatever the agent's own
/// configuration, every request is sent with the driver's limits: no redirects, statuses as
/// values, the config's timeouts and body limit.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport sending with `agent` (the app's own: proxy, root certificates).
    pub fn new(agent: ureq::Agent) -> UreqTransport {
        UreqTransport { agent }
    }

    /// The agent every client of a [`Config`] shares: keep-alive, timeouts, no redirects,
    /// and a `User-Agent` naming this crate.
    pub fn default_agent(config: &Config) -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout()))
            .timeout_global(Some(config.request_timeout()))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("logto-ureq/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    }
}

impl Transport for UreqTransport {
    fn send(
        &self,
        request: HttpRequest,
        limits: &RequestLimits,
    ) -> Result<HttpResponse, TransportError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let url = request.url.as_str();
        let invalid = |e: ureq::http::Error| {
            TransportError::new(TransportErrorKind::Other, url, e.to_string())
        };
        // A GET goes without a body at all (an empty one would still be framed).
        let response = if request.body.is_empty() {
            let request = builder.body(()).map_err(invalid)?;
            self.agent.run(self.limited(request, limits))
        } else {
            let request = builder.body(request.body).map_err(invalid)?;
            self.agent.run(self.limited(request, limits))
        }
        .map_err(|e| transport_error(e, url))?;
        let status = response.status().as_u16();
        let headers = text_headers(response.headers());
        let body = response
            .into_body()
            .with_config()
            .limit(limits.max_body)
            .read_to_vec()
            .map_err(|e| match e {
                // The same error as every transport's for an oversized body.
                ureq::Error::BodyExceedsLimit(_) => limits.body_too_large(url),
                e => transport_error(e, url),
            })?;
        Ok(HttpResponse::new(status, body).with_headers(headers))
    }
}

impl UreqTransport {
    /// `request` with the driver's limits over the agent's configuration: the core decides on
    /// every answer itself, so redirects stay answers and statuses stay values.
    fn limited<S: ureq::AsSendBody>(
        &self,
        request: ureq::http::Request<S>,
        limits: &RequestLimits,
    ) -> ureq::http::Request<S> {
        self.agent
            .configure_request(request)
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_connect(Some(limits.connect_timeout))
            .timeout_global(Some(limits.timeout))
            .build()
    }
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
