//! Sending the core's requests with ureq.

use logto_driver::blocking::Transport;
use logto_driver::{text_headers, RequestLimits};
use logto_proto::adapter::{HttpRequest, HttpResponse};
use logto_proto::Config;
use logto_proto::{TransportError, TransportErrorKind};
use rustls::crypto::CryptoProvider;
use std::sync::Arc;
use ureq::tls::{TlsConfig, TlsProvider};

/// What an https request without a TLS crypto provider is told (the `rustcrypto` build).
const NO_CRYPTO_PROVIDER: &str = "no rustls CryptoProvider: with the `rustcrypto` feature, \
     install one as the process default (CryptoProvider::install_default) before the first \
     https request, give the agent one in its TlsConfig, or enable the `aws-lc` feature";

/// The blocking driver's [`Transport`] over a [`ureq::Agent`]. Whatever the agent's own
/// configuration, every request is sent with the driver's limits: no redirects, statuses as
/// values, the config's timeouts and body limit.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport sending with `agent` (the app's own: proxy, root certificates). Its TLS
    /// configuration is kept. An agent on rustls with no crypto provider of its own takes
    /// the process default; with the `aws-lc` feature, when none is installed, aws-lc-rs
    /// (the library the build verifies signatures with) is installed as the process default,
    /// since ureq would otherwise fail at the first handshake. With `rustcrypto` alone, give
    /// the agent a provider (`TlsConfig::builder().unversioned_rustls_crypto_provider(..)`)
    /// or install a process default: an https request without one is a `Connect` error.
    pub fn new(agent: ureq::Agent) -> UreqTransport {
        let transport = UreqTransport { agent };
        if !transport.has_crypto_provider() {
            if let Some(provider) = sdk_crypto_provider() {
                // Fails only when another thread installed one meanwhile: then that one serves.
                let _ = provider.install_default();
            }
        }
        transport
    }

    /// The agent every client of a [`Config`] shares: keep-alive, timeouts, no redirects,
    /// a `User-Agent` naming this crate, and TLS on the crypto library the build verifies
    /// signatures with (aws-lc-rs with the `aws-lc` feature; with `rustcrypto` alone, the
    /// process-default rustls provider, looked up at each connection).
    pub fn default_agent(config: &Config) -> ureq::Agent {
        let mut tls = TlsConfig::builder();
        if let Some(provider) = sdk_crypto_provider() {
            tls = tls.unversioned_rustls_crypto_provider(Arc::new(provider));
        }
        ureq::Agent::config_builder()
            .tls_config(tls.build())
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
        if url.starts_with("https:") && !self.has_crypto_provider() {
            // ureq would panic at the TLS handshake; the app is told what to install.
            return Err(TransportError::new(
                TransportErrorKind::Connect,
                url,
                NO_CRYPTO_PROVIDER,
            ));
        }
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
    /// Whether a TLS handshake has what it needs: an agent on native-tls does; one on
    /// rustls needs its own crypto provider or the process default. (ureq's own `rustls`
    /// feature would fall back to ring, which this crate never enables: an agent relying on
    /// that is told to name its provider.)
    fn has_crypto_provider(&self) -> bool {
        let tls = self.agent.config().tls_config();
        tls.provider() != TlsProvider::Rustls
            || tls.unversioned_rustls_crypto_provider().is_some()
            || CryptoProvider::get_default().is_some()
    }

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

/// The provider the SDK's own agent is built with: aws-lc-rs, the library the core verifies
/// signatures with, so a build has one crypto library; none with `rustcrypto` alone (ureq
/// then takes the process default at each connection).
fn sdk_crypto_provider() -> Option<CryptoProvider> {
    #[cfg(feature = "aws-lc")]
    let provider = Some(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(not(feature = "aws-lc"))]
    let provider = None;
    provider
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

#[cfg(test)]
mod tests {
    use crate::LogtoConfig;

    #[test]
    #[cfg(feature = "aws-lc")]
    fn the_sdks_agent_does_tls_with_aws_lc_rs() {
        let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
            .build()
            .unwrap();
        let agent = super::UreqTransport::default_agent(&config);
        // The agent's own provider, aws-lc-rs's (its random source names the library), so
        // ureq never falls back to ring, which the build does not have (scripts/test.sh
        // checks the dependency tree).
        let tls = agent.config().tls_config();
        let provider = tls.unversioned_rustls_crypto_provider().as_ref().unwrap();
        let aws_lc = rustls::crypto::aws_lc_rs::default_provider();
        assert_eq!(
            format!("{:?}", provider.secure_random),
            format!("{:?}", aws_lc.secure_random)
        );
        assert_eq!(format!("{:?}", aws_lc.secure_random), "AwsLcRs");
    }

    #[test]
    #[cfg(feature = "aws-lc")]
    fn an_apps_agent_without_a_provider_gets_aws_lc_rs_as_the_process_default() {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let transport = super::UreqTransport::new(agent);
        assert!(transport.has_crypto_provider());
        let installed = rustls::crypto::CryptoProvider::get_default().unwrap();
        assert_eq!(format!("{:?}", installed.secure_random), "AwsLcRs");
    }

    #[test]
    #[cfg(not(feature = "aws-lc"))]
    fn an_https_request_without_a_crypto_provider_is_a_connect_error_saying_what_to_install() {
        use crate::{Error, LogtoClient};
        use logto_proto::TransportErrorKind;
        let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
            .build()
            .unwrap();
        let client = LogtoClient::new(config).unwrap();
        match client.sign_in("https://app.example.com/callback") {
            Err(Error::Transport(e)) => {
                assert_eq!(e.kind, TransportErrorKind::Connect);
                assert_eq!(e.host, "tenant.logto.app");
                assert!(e.message.contains("CryptoProvider::install_default"), "{e}");
            }
            other => panic!("expected a transport error, got {other:?}"),
        }
    }
}
