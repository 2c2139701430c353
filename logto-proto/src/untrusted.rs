//! Text from outside (a token header's `alg` or `kid`, a header, a refused `return_to`) as
//! errors carry it and logs show it: cut short and escaped, so that nobody can forge a log
//! line with a newline or fill the log with one huge value.

use std::fmt;

/// How many characters of an untrusted value errors keep and logs show.
pub const UNTRUSTED_SHOWN_CHARS: usize = 64;

/// `text` cut to [`UNTRUSTED_SHOWN_CHARS`] characters, with `…` when something was cut: what
/// an error keeps of an untrusted value (its `Display` then escapes it, see [`Untrusted`]).
///
/// ```
/// use logto_proto::cut_untrusted;
/// assert_eq!(cut_untrusted("ES384"), "ES384");
/// assert_eq!(cut_untrusted(&"a".repeat(100)).chars().count(), 65);
/// ```
pub fn cut_untrusted(text: &str) -> String {
    match cut_point(text) {
        Some(end) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The byte offset where `text` is cut, if it is longer than [`UNTRUSTED_SHOWN_CHARS`].
fn cut_point(text: &str) -> Option<usize> {
    text.char_indices()
        .nth(UNTRUSTED_SHOWN_CHARS)
        .map(|(end, _)| end)
}

/// Displays an untrusted value quoted and escaped (control characters, quotes and
/// backslashes as Rust escapes them) and cut to [`UNTRUSTED_SHOWN_CHARS`] characters.
///
/// ```
/// use logto_proto::Untrusted;
/// assert_eq!(Untrusted("a\nb").to_string(), r#""a\nb""#);
/// assert!(Untrusted(&"x".repeat(10_000)).to_string().len() < 80);
/// ```
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match cut_point(self.0) {
            Some(end) => write!(f, "{:?}…", &self.0[..end]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
