//! Who is asking: a signed-in user or not, and for a visitor who is not, whether the answer
//! is a redirect to sign in (a page visit) or a 401 (a script's call).

use crate::{Error, LogtoWeb, RequestHeaders, Route, WebSession};
use logto_proto::{ClientError, IdTokenClaims};

/// What a route that needs a signed-in user answers anyone else.
#[derive(Clone, Copy, Debug)]
pub enum Guard<'a> {
    /// A page: a page visit (see [`is_page_visit`]) is redirected to
    /// `/sign-in?return_to=<path_and_query>` after the route prefix, a script's call gets
    /// `401 {"error": "Not authenticated"}`.
    Page {
        /// The path the browser asked for, before any prefix was stripped.
        path_and_query: &'a str,
    },
    /// An API route: always `401 {"error": "Not authenticated"}`.
    Api,
}

/// A signed-in user: the claims of the session's ID token (verified when it was stored) and
/// the session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignedIn {
    /// The ID token's claims.
    pub claims: IdTokenClaims,
    /// The user's session.
    pub session: WebSession,
}

impl LogtoWeb {
    /// The request's signed-in user, or `None` for a visitor who is not signed in. A store
    /// that cannot be read is an error (503), never a visitor taken for signed out.
    pub async fn signed_in(&self, headers: &RequestHeaders<'_>) -> Result<Option<SignedIn>, Error> {
        let session = self.session(headers).await?;
        match session.id_token_claims().await {
            Ok(claims) => Ok(Some(SignedIn { claims, session })),
            Err(ClientError::NotAuthenticated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The request's signed-in user, or the refusal `guard` says for anyone else.
    pub async fn require_signed_in(
        &self,
        headers: &RequestHeaders<'_>,
        guard: Guard<'_>,
    ) -> Result<SignedIn, Error> {
        if let Some(user) = self.signed_in(headers).await? {
            return Ok(user);
        }
        Err(match guard {
            Guard::Page { path_and_query } if is_page_visit(headers) => {
                let return_to: String =
                    url::form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
                let sign_in = self.route_path(Route::SignIn);
                Error::SignInRequired {
                    location: format!("{sign_in}?return_to={return_to}"),
                }
            }
            Guard::Page { .. } | Guard::Api => ClientError::NotAuthenticated.into(),
        })
    }
}

/// Whether the request is a page visit (then a redirect to sign-in helps) rather than a
/// script's call (which wants a 401), decided as web frameworks do:
/// - a browser's own word first: `Sec-Fetch-Mode: navigate` is a visit; `cors`,
///   `same-origin`, `no-cors` or `websocket` a script (or a subresource);
/// - `X-Requested-With` (set by script libraries) is a script;
/// - then `Accept`: with `text/html` a visit; with `application/json` a script;
/// - a request with neither Fetch Metadata nor a specific `Accept` (none, or `*/*`, as curl
///   sends) is a visit, as Devise treats `*/*`; any other specific `Accept` is a script.
pub fn is_page_visit(headers: &RequestHeaders<'_>) -> bool {
    if let Some(mode) = headers.fetch_mode() {
        return mode.trim().eq_ignore_ascii_case("navigate");
    }
    if headers.requested_with() {
        return false;
    }
    let Some(accept) = headers.accept() else {
        return true;
    };
    let media_types: Vec<String> = accept
        .split(',')
        .map(|item| {
            item.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|media_type| !media_type.is_empty())
        .collect();
    if media_types
        .iter()
        .any(|m| m == "text/html" || m == "application/xhtml+xml")
    {
        return true;
    }
    if media_types
        .iter()
        .any(|m| m == "application/json" || m.ends_with("+json"))
    {
        return false;
    }
    media_types.iter().all(|m| m == "*/*")
}

#[cfg(test)]
mod tests {
    use super::is_page_visit;
    use crate::RequestHeaders;

    fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> RequestHeaders<'a> {
        RequestHeaders::from_pairs(pairs.iter().map(|(n, v)| (*n, v.as_bytes())))
    }

    #[test]
    fn page_visits_and_script_calls_are_told_apart() {
        let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        for visit in [
            headers(&[]),
            headers(&[("accept", "*/*")]),
            headers(&[("accept", browser_accept)]),
            headers(&[("accept", "TEXT/HTML")]),
            headers(&[("sec-fetch-mode", "navigate"), ("accept", "*/*")]),
            headers(&[
                ("sec-fetch-mode", "navigate"),
                ("accept", "application/json"),
            ]),
        ] {
            assert!(is_page_visit(&visit), "{visit:?}");
        }
        for script in [
            headers(&[("accept", "application/json")]),
            headers(&[("accept", "application/problem+json, */*")]),
            headers(&[("accept", "image/png")]),
            headers(&[("x-requested-with", "XMLHttpRequest")]),
            headers(&[("x-requested-with", "XMLHttpRequest"), ("accept", "*/*")]),
            headers(&[("sec-fetch-mode", "cors"), ("accept", "*/*")]),
            headers(&[("sec-fetch-mode", "same-origin")]),
            headers(&[("sec-fetch-mode", "no-cors"), ("accept", browser_accept)]),
        ] {
            assert!(!is_page_visit(&script), "{script:?}");
        }
    }
}
