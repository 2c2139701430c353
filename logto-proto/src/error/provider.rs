//! The errors of the provider's answers: discovery, malformed responses, and the OAuth error
//! the provider sends (`ProviderError`; its body is read with the token protocol, in
//! `token.rs`).

use std::fmt;

/// A discovery document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The body is not an OpenID provider metadata document.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The `issuer` is not `{endpoint}/oidc`.
    IssuerMismatch {
        /// `{endpoint}/oidc`.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
    /// The document lacks an endpoint the flow needs.
    MissingEndpoint {
        /// The metadata field name.
        name: &'static str,
    },
    /// An endpoint is not an absolute URL the SDK can send to.
    InvalidEndpoint {
        /// The metadata field name.
        name: &'static str,
        /// Its value (credentials redacted).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An endpoint uses `http://` off loopback: tokens, codes or the app secret would travel
    /// in clear.
    InsecureEndpoint {
        /// The metadata field name.
        name: &'static str,
        /// Its value.
        url: String,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Malformed { reason } => write!(f, "malformed metadata: {reason}"),
            DiscoveryError::IssuerMismatch { expected, found } => {
                write!(f, "issuer `{found}` is not `{expected}`")
            }
            DiscoveryError::MissingEndpoint { name } => write!(f, "metadata has no `{name}`"),
            DiscoveryError::InvalidEndpoint { name, url, reason } => {
                write!(f, "`{name}` `{url}` is not usable: {reason}")
            }
            DiscoveryError::InsecureEndpoint { name, url } => write!(
                f,
                "`{name}` `{url}` uses http:// off loopback; the SDK sends secrets only over https"
            ),
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// A successful response whose body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The body is not the JSON document expected.
    Malformed {
        /// Which response (`token`, `userinfo`, ...).
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The token response's `token_type` is not `Bearer`.
    UnexpectedTokenType {
        /// The value found.
        found: String,
    },
    /// The code exchange returned no ID token.
    MissingIdToken,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed { what, reason } => {
                write!(f, "malformed {what} response: {reason}")
            }
            ResponseError::UnexpectedTokenType { found } => {
                write!(f, "token_type `{found}` is not Bearer")
            }
            ResponseError::MissingIdToken => f.write_str("the token response has no id_token"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// An error status from the provider, with Logto's error body when it sent one:
/// `{"code", "message", "error", "error_description"}`, and the endpoint that answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProviderError {
    /// HTTP status.
    pub status: u16,
    /// OAuth error code (`invalid_grant`, `access_denied`, ...).
    pub error: Option<String>,
    /// OAuth error description.
    pub error_description: Option<String>,
    /// Logto's error code (`oidc.invalid_grant`, ...).
    pub code: Option<String>,
    /// Logto's localised message.
    pub message: Option<String>,
    /// The URL (without its query) that answered: see [`endpoint`](Self::endpoint).
    pub(crate) endpoint: Option<Box<str>>,
}

impl ProviderError {
    /// The same error, naming the endpoint (a URL) that answered with it. A query, if any,
    /// is left out.
    pub fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(crate::http::redact_query(endpoint).into());
        self
    }

    /// The URL (without its query) that answered with the error: the token endpoint, the
    /// userinfo endpoint, ... `None` when not known.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Whether the OAuth error code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.error.as_deref() == Some(code)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(e) = &self.error {
            write!(f, " `{e}`")?;
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, " from {endpoint}")?;
        }
        if let Some(d) = self.error_description.as_ref().or(self.message.as_ref()) {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}
