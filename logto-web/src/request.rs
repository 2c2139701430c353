//! What the web rules read of a request: plain values an adapter borrows from its
//! framework's request.

use std::fmt;

/// The request headers the web rules read, borrowed from the framework's request: the
/// cookies, `Origin`, `Sec-Fetch-Site`, `Sec-Fetch-Mode`, `Accept`, `X-Requested-With` and
/// `Authorization`. Of a header sent twice the first counts (every `Cookie` header counts);
/// a value that is not visible ASCII counts as absent, as `http`'s `to_str` makes it.
///
/// ```
/// use logto_web::RequestHeaders;
///
/// let pairs = [("cookie", &b"a=1; b=2"[..]), ("sec-fetch-site", b"same-origin")];
/// let headers = RequestHeaders::from_pairs(pairs);
/// assert_eq!(headers.cookie("b"), Some("2".to_owned()));
/// assert_eq!(headers.fetch_site(), Some("same-origin"));
/// ```
#[derive(Clone, Default)]
pub struct RequestHeaders<'a> {
    /// The single-valued headers already met (bits of [`SINGLE_HEADERS`]), valid or not.
    seen: u8,
    cookies: Vec<&'a str>,
    origin: Option<&'a str>,
    fetch_site: Option<&'a str>,
    fetch_mode: Option<&'a str>,
    accept: Option<&'a str>,
    requested_with: bool,
    authorization: Option<&'a str>,
}

/// The headers of which the first value counts, in the order of the bits of `seen`.
const SINGLE_HEADERS: [&str; 5] = [
    "origin",
    "sec-fetch-site",
    "sec-fetch-mode",
    "accept",
    "authorization",
];

/// What `http::HeaderValue::to_str` accepts: visible ASCII and tabs.
fn header_text(value: &[u8]) -> Option<&str> {
    let visible = value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b));
    visible.then(|| std::str::from_utf8(value).ok()).flatten()
}

impl<'a> RequestHeaders<'a> {
    /// The headers among `pairs` (name, value) that the rules read; the others are skipped.
    pub fn from_pairs<I>(pairs: I) -> RequestHeaders<'a>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let mut headers = RequestHeaders::default();
        for (name, value) in pairs {
            headers.add(name, value);
        }
        headers
    }

    /// Takes one header of the request (any name; those the rules do not read are skipped).
    pub fn add(&mut self, name: &str, value: &'a [u8]) {
        if name.eq_ignore_ascii_case("x-requested-with") {
            // Its presence is the signal, whatever it says.
            self.requested_with = true;
            return;
        }
        if name.eq_ignore_ascii_case("cookie") {
            self.cookies.extend(header_text(value));
            return;
        }
        let Some(index) = SINGLE_HEADERS
            .iter()
            .position(|single| name.eq_ignore_ascii_case(single))
        else {
            return;
        };
        // The first value counts, even one that is not text (then the header is taken as
        // absent): a second value never replaces it.
        let bit = 1 << index;
        if self.seen & bit != 0 {
            return;
        }
        self.seen |= bit;
        let slot = match index {
            0 => &mut self.origin,
            1 => &mut self.fetch_site,
            2 => &mut self.fetch_mode,
            3 => &mut self.accept,
            _ => &mut self.authorization,
        };
        *slot = header_text(value);
    }

    /// The value of cookie `name`, if the request has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .flat_map(|header| cookie::Cookie::split_parse(*header))
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value_trimmed().to_owned())
    }

    /// `Origin`.
    pub fn origin(&self) -> Option<&'a str> {
        self.origin
    }

    /// `Sec-Fetch-Site` (Fetch Metadata): who made the browser send the request.
    pub fn fetch_site(&self) -> Option<&'a str> {
        self.fetch_site
    }

    /// `Sec-Fetch-Mode` (Fetch Metadata): a navigation, or a script's or subresource's request.
    pub fn fetch_mode(&self) -> Option<&'a str> {
        self.fetch_mode
    }

    /// `Accept`.
    pub fn accept(&self) -> Option<&'a str> {
        self.accept
    }

    /// Whether the request has an `X-Requested-With` header (set by script libraries).
    pub fn requested_with(&self) -> bool {
        self.requested_with
    }

    /// `Authorization` (a bearer token: never shown by `Debug`).
    pub fn authorization(&self) -> Option<&'a str> {
        self.authorization
    }
}

impl fmt::Debug for RequestHeaders<'_> {
    /// Cookies and `Authorization` are secrets: only whether they are there is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHeaders")
            .field("cookies", &self.cookies.len())
            .field("origin", &self.origin)
            .field("fetch_site", &self.fetch_site)
            .field("fetch_mode", &self.fetch_mode)
            .field("accept", &self.accept)
            .field("requested_with", &self.requested_with)
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .finish()
    }
}

/// A request to one of the Logto routes, as plain values.
#[derive(Clone)]
pub struct WebRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path and query the browser asked for (before any prefix was stripped by the
    /// framework's nesting), e.g. `/callback?code=...&state=...`.
    pub path_and_query: &'a str,
    /// The headers the rules read.
    pub headers: RequestHeaders<'a>,
    /// The body, read by the back-channel route only, which refuses one over
    /// [`BACKCHANNEL_LOGOUT_BODY_LIMIT`](crate::BACKCHANNEL_LOGOUT_BODY_LIMIT) bytes with
    /// 413 (an adapter had best stop reading there).
    pub body: &'a [u8],
}

impl WebRequest<'_> {
    /// The value of query parameter `name`, decoded (the first, if it comes more than once).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_values(name).into_iter().next()
    }

    /// Every value of query parameter `name`, decoded, in order.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        let Some((_, query)) = self.path_and_query.split_once('?') else {
            return Vec::new();
        };
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }
}

impl fmt::Debug for WebRequest<'_> {
    /// The query (a callback's code and state) and the body (a logout token) are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_and_query.split('?').next().unwrap_or_default();
        f.debug_struct("WebRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_headers_the_rules_read_are_taken_and_secrets_stay_out_of_debug() {
        let headers = RequestHeaders::from_pairs([
            ("Cookie", &b"logto_session=secret-id; other=1"[..]),
            ("cookie", b"second=2"),
            ("Origin", b"https://app.example.com"),
            ("origin", b"https://second.example"),
            ("sec-fetch-site", b"caf\xc3\xa9"),
            ("authorization", b"Bearer eyJ.secret"),
            ("x-requested-with", b"\xff"),
            ("x-other", b"ignored"),
        ]);
        assert_eq!(
            headers.cookie("logto_session").as_deref(),
            Some("secret-id")
        );
        assert_eq!(headers.cookie("second").as_deref(), Some("2"));
        assert_eq!(headers.cookie("missing"), None);
        assert_eq!(
            headers.origin(),
            Some("https://app.example.com"),
            "the first"
        );
        assert_eq!(headers.fetch_site(), None, "not visible ASCII");
        let second = RequestHeaders::from_pairs([
            ("accept", &b"caf\xc3\xa9"[..]),
            ("accept", b"application/json"),
        ]);
        assert_eq!(
            second.accept(),
            None,
            "the first value counts, even unreadable"
        );
        assert!(headers.requested_with());
        let debug = format!("{headers:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn query_parameters_are_decoded() {
        let request = WebRequest {
            method: "GET",
            path_and_query: "/sign-in?x=1&return_to=%2Fa%3Fb%3Dc",
            headers: RequestHeaders::default(),
            body: &[],
        };
        assert_eq!(request.query_param("return_to").as_deref(), Some("/a?b=c"));
        assert_eq!(request.query_param("missing"), None);
    }
}
