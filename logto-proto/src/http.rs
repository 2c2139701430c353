//! The core's own HTTP values: what to send, and what came back.
//!
//! No HTTP client crate appears in the core's API; adapters translate these to and from
//! theirs. Bodies and credentials are redacted from `Debug`.

use std::fmt;

/// An HTTP method the Logto flows use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: discovery, JWKS, userinfo.
    Get,
    /// `POST`: token and revocation endpoints (form bodies).
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller must send. Send it as it is, without following redirects, and feed the
/// answer back to the operation that produced it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL, query included.
    pub url: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for `GET`).
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub(crate) fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    pub(crate) fn post_form(url: impl Into<String>, body: String) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![
                ("accept".into(), "application/json".into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: body.into_bytes(),
        }
    }

    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redact_query(&self.url))
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// What came back. Build it from the HTTP client's response; header names are matched
/// case-insensitively.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status and a body and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The same response with these headers (names and values, in order).
    ///
    /// ```
    /// use logto_proto::adapter::HttpResponse;
    /// let response = HttpResponse::new(200, "{}")
    ///     .with_headers(vec![("Content-Type".into(), "application/json".into())]);
    /// assert_eq!(response.header("content-type"), Some("application/json"));
    /// ```
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            let sensitive = ["authorization", "cookie", "set-cookie"]
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s));
            if sensitive {
                list.entry(&format_args!("{name}: ***"));
            } else {
                list.entry(&format_args!("{name}: {value}"));
            }
        }
        list.finish()
    }
}

/// URLs the core builds carry no secret in the query except the end-session URL's
/// `id_token_hint`; `Debug` shows the path only.
pub(crate) fn redact_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}
