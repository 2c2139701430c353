//! Hiding the credentials a URL may carry, for messages and logs, and telling loopback hosts.

use super::*;

/// A URL as messages and logs may show it: the credentials before its host and its query
/// (where, say, a Redis socket URL carries a password) replaced by `***`.
///
/// A password may hold `/`, `?`, `#`, `@` or `%` unencoded, so the credentials are taken to
/// run to the *last* `@` (a query with an `@` is redacted with them: too much hidden, never
/// too little), and a URL that does not parse has its whole authority hidden.
///
/// ```
/// use logto_proto::redact_url;
/// assert_eq!(redact_url("redis://:hunter2@cache:6379/0"), "redis://***@cache:6379/0");
/// assert_eq!(redact_url("redis://:s3cr/t@cache:6379/0"), "redis://***@cache:6379/0");
/// assert_eq!(redact_url("redis+unix:///run/redis.sock?pass=hunter2"), "redis+unix:///run/redis.sock?***");
/// assert_eq!(redact_url("https://tenant.logto.app"), "https://tenant.logto.app");
/// ```
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let (authority, after_authority) = split_authority(url, rest);
    let hidden_query = match after_authority.split_once('?') {
        Some((before, _)) => format!("{before}?***"),
        None => after_authority.to_owned(),
    };
    format!("{scheme}{authority}{hidden_query}")
}

/// `url` with any credentials before its host replaced by `***` (see [`redact_url`]; the
/// query is kept): what errors show of an endpoint URL.
pub(crate) fn redact_credentials(url: &str) -> String {
    let (scheme, rest) = split_scheme(url);
    let (authority, after_authority) = split_authority(url, rest);
    format!("{scheme}{authority}{after_authority}")
}

/// `("scheme://", rest)`, or `("", url)` without a scheme.
fn split_scheme(url: &str) -> (&str, &str) {
    match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    }
}

/// What to show of the authority, and the rest after it. Credentials run to the last `@`;
/// a URL with a scheme that does not parse shows none of its authority (where it ends is a
/// guess). Text without a scheme or an `@` holds no authority to hide.
fn split_authority<'a>(url: &str, rest: &'a str) -> (&'static str, &'a str) {
    if let Some(at) = rest.rfind('@') {
        return ("***", &rest[at..]);
    }
    if rest.len() == url.len() || Url::parse(url).is_ok() {
        return ("", rest);
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match end {
        0 => ("", rest),
        _ => ("***", &rest[end..]),
    }
}

/// Whether the URL's host is `localhost` or a loopback address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_url;

    #[test]
    fn passwords_with_delimiters_never_show() {
        for password in [
            "s3cr/t",
            "s3cr#t",
            "s3cr?t",
            "s3cr@t",
            "s3cr%t",
            "a/b?c#d@e%f",
        ] {
            for url in [
                format!("redis://:{password}@cache:6379/0"),
                format!("redis://user:{password}@cache:6379/0?timeout=1"),
                format!("rediss://default:{password}@[::1]:6380"),
            ] {
                let shown = redact_url(&url);
                assert!(!shown.contains(password), "{url} shown as {shown}");
                assert!(!shown.contains("s3cr"), "{url} shown as {shown}");
                assert!(shown.starts_with("redis"), "{shown}");
            }
        }
        assert_eq!(
            redact_url("redis://:s3cr/t@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        // A URL that does not parse: its whole authority.
        assert_eq!(redact_url("redis://pass word:99999999/0"), "redis://***/0");
        assert_eq!(redact_url("redis://cache:6379/0"), "redis://cache:6379/0");
        assert_eq!(redact_url("cache:6379"), "cache:6379");
        assert_eq!(redact_url("redis://h/0?password=x#y"), "redis://h/0?***");
    }
}
