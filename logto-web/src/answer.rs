//! What the web rules answer: a status, headers and a body, for the adapter to send.

use std::fmt;

/// An answer to a request, as plain values: the adapter sends the status, every header in
/// order (`Set-Cookie` may come several times) and the body.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in order (the rules name them in lower case; an adapter leaves out a
    /// name or value a header cannot carry).
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for a redirect).
    pub body: String,
}

impl Answer {
    /// An answer with no header and no body.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// `303 See Other` to `location`.
    pub fn redirect(location: &str) -> Answer {
        Answer::status(303).header("location", location.to_owned())
    }

    /// A JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Answer {
        let mut answer = Answer::status(status).header("content-type", "application/json".into());
        answer.body = body.to_string();
        answer
    }

    /// An HTML page.
    pub fn html(status: u16, body: String) -> Answer {
        let mut answer =
            Answer::status(status).header("content-type", "text/html; charset=utf-8".into());
        answer.body = body;
        answer
    }

    /// The answer with header `name` added.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// Adds a `Set-Cookie` header.
    pub fn set_cookie(&mut self, cookie: String) {
        self.headers.push(("set-cookie", cookie));
    }

    /// The value of header `name` (the first), if any.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Debug for Answer {
    /// `Set-Cookie` values carry session ids and sealed sign-ins: only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(
                |(name, value)| match name.eq_ignore_ascii_case("set-cookie") {
                    true => (*name, value.split('=').next().unwrap_or("")),
                    false => (*name, value.as_str()),
                },
            )
            .collect();
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}
