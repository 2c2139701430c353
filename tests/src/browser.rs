//! A non-interactive browser for the provider's sign-in and sign-out pages.

use std::time::Duration;

use url::Url;

use crate::raw::{self, HttpReply};

/// How many provider-internal redirects one navigation may follow.
const MAX_HOPS: usize = 20;

/// Where a navigation ended.
#[derive(Debug, Clone)]
pub enum Landing {
    /// A redirect that leaves the provider (to the client's redirect URI or post-logout URI).
    /// Not followed.
    Redirected {
        /// The `Location`, absolute.
        url: String,
    },
    /// The provider's sign-in form.
    SignInPage(SignInPage),
    /// Any other page of the provider (an error, the signed-out page...).
    Page {
        /// The page's URL.
        url: String,
        /// Its status.
        status: u16,
        /// Its body.
        body: String,
    },
}

impl Landing {
    /// The redirect's URL, or a panic describing where the navigation ended instead.
    #[track_caller]
    pub fn expect_redirect(self) -> String {
        match self {
            Landing::Redirected { url } => url,
            Landing::SignInPage(page) => panic!(
                "expected a redirect back to the client, got the sign-in page {} (status {}, error: {:?})",
                page.url,
                page.status,
                page.error()
            ),
            Landing::Page { url, status, body } => panic!(
                "expected a redirect back to the client, got page {url} (status {status}): {body}"
            ),
        }
    }

    /// The sign-in page, or a panic describing where the navigation ended instead.
    #[track_caller]
    pub fn expect_sign_in_page(self) -> SignInPage {
        match self {
            Landing::SignInPage(page) => page,
            Landing::Redirected { url } => {
                panic!("expected the sign-in page, got a redirect to {url}")
            }
            Landing::Page { url, status, body } => {
                panic!("expected the sign-in page, got page {url} (status {status}): {body}")
            }
        }
    }
}

/// The provider's sign-in page (`/<page>/<uid>`, the page `first_screen` chose: `/sign-in`, `/register`, ...).
#[derive(Debug, Clone)]
pub struct SignInPage {
    /// The page's URL.
    pub url: String,
    /// 200, or 401 after a wrong password.
    pub status: u16,
    /// The HTML.
    pub html: String,
}

impl SignInPage {
    /// A `data-<name>` attribute of the page's `<main>`: `first-screen`, `interaction-mode`,
    /// `login-hint`, `ui-locales`, `direct-sign-in`, `identifier`, `organization-id`, `prompt`,
    /// `client-id`, `uid`.
    pub fn data(&self, name: &str) -> Option<String> {
        let start = self.html.find("<main")?;
        let end = start + self.html[start..].find('>')?;
        attribute(&self.html[start..end], &format!("data-{name}"))
    }

    /// The first screen the request asked for: `sign_in`, `register` (from
    /// `interaction_mode=signUp`), or the `first_screen` value.
    pub fn first_screen(&self) -> Option<String> {
        self.data("first-screen")
    }

    /// The error shown after a failed attempt.
    pub fn error(&self) -> Option<String> {
        let start = self.html.find("id=\"error\"")?;
        let text_start = start + self.html[start..].find('>')? + 1;
        let text_end = text_start + self.html[text_start..].find('<')?;
        Some(unescape(&self.html[text_start..text_end]))
    }

    fn form_action(&self, form_id: &str) -> String {
        let form = form_tag(&self.html, form_id)
            .unwrap_or_else(|| panic!("no form #{form_id} on {}: {}", self.url, self.html));
        let action = attribute(form, "action").expect("form action");
        resolve(&self.url, &action)
    }
}

/// A user agent with a cookie jar that follows the provider's redirects and fills its forms.
/// One `Browser` is one browser profile: a second sign-in reuses the provider's session.
pub struct Browser {
    agent: ureq::Agent,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// A fresh browser with an empty cookie jar.
    pub fn new() -> Browser {
        Browser {
            agent: ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .proxy(None)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into(),
        }
    }

    /// Opens a URL (e.g. an authorization URL) and follows the provider's redirects.
    pub fn open(&self, url: &str) -> Landing {
        let origin = origin_of(url);
        let reply = self.fetch("GET", url, None);
        self.follow(&origin, url.to_owned(), reply)
    }

    /// Submits the sign-in form with an identifier (username, email or phone) and a password.
    pub fn submit_sign_in(&self, page: &SignInPage, identifier: &str, password: &str) -> Landing {
        let action = page.form_action("login-form");
        let body = raw::form_encode(&[("identifier", identifier), ("password", password)]);
        let reply = self.fetch("POST", &action, Some(body));
        self.follow(&origin_of(&page.url), action, reply)
    }

    /// Presses the sign-in page's cancel button.
    pub fn cancel(&self, page: &SignInPage) -> Landing {
        let action = page.form_action("cancel-form");
        let reply = self.fetch("POST", &action, Some(String::new()));
        self.follow(&origin_of(&page.url), action, reply)
    }

    /// Signs in like a user would: opens the authorization URL, fills the form if the provider
    /// shows it (it does not when this browser already has a session), and returns the redirect
    /// back to the client (the callback URL with `code`, `state` and `iss`), not followed.
    /// Panics if the sign-in fails.
    #[track_caller]
    pub fn sign_in(&self, authorization_url: &str, identifier: &str, password: &str) -> String {
        match self.open(authorization_url) {
            Landing::SignInPage(page) => self
                .submit_sign_in(&page, identifier, password)
                .expect_redirect(),
            landing => landing.expect_redirect(),
        }
    }

    /// Opens the authorization URL and cancels on the sign-in page. Returns the callback URL,
    /// which carries `error=access_denied`.
    #[track_caller]
    pub fn cancel_sign_in(&self, authorization_url: &str) -> String {
        let page = self.open(authorization_url).expect_sign_in_page();
        self.cancel(&page).expect_redirect()
    }

    /// Signs a device in as a user would on another screen: opens the verification URI,
    /// enters `user_code`, confirms, and signs in (unless this browser has a session).
    /// Returns the page it ends on (the provider's "device signed in" page).
    #[track_caller]
    pub fn device_sign_in(
        &self,
        verification_uri: &str,
        user_code: &str,
        identifier: &str,
        password: &str,
    ) -> Landing {
        let input = self.page(self.open(verification_uri));
        let confirm =
            self.page(self.submit_form(&input, "op.deviceInputForm", &[("user_code", user_code)]));
        match self.submit_form(&confirm, "op.deviceConfirmForm", &[]) {
            Landing::SignInPage(page) => self.submit_sign_in(&page, identifier, password),
            landing => landing,
        }
    }

    /// Opens the verification URI with the code filled in and presses Abort. Returns the page
    /// it ends on.
    #[track_caller]
    pub fn abort_device_sign_in(&self, verification_uri_complete: &str) -> Landing {
        let confirm = self.page(self.open(verification_uri_complete));
        self.submit_form(&confirm, "op.deviceConfirmForm", &[("abort", "yes")])
    }

    #[track_caller]
    fn page(&self, landing: Landing) -> (String, String) {
        match landing {
            Landing::Page {
                url,
                status: 200,
                body,
            } => (url, body),
            other => panic!("browser: expected a provider page, got {other:?}"),
        }
    }

    /// Submits the form `form_id` of a page with its hidden inputs and `fields`.
    fn submit_form(
        &self,
        (url, html): &(String, String),
        form_id: &str,
        fields: &[(&str, &str)],
    ) -> Landing {
        let form = form_tag(html, form_id)
            .unwrap_or_else(|| panic!("no form #{form_id} on {url}: {html}"));
        let action = resolve(url, &attribute(form, "action").expect("form action"));
        let hidden = hidden_inputs(html, form_id);
        let mut pairs: Vec<(&str, &str)> = hidden
            .iter()
            .filter(|(name, _)| !fields.iter().any(|(n, _)| n == name))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        pairs.extend_from_slice(fields);
        let reply = self.fetch("POST", &action, Some(raw::form_encode(&pairs)));
        self.follow(&origin_of(url), action, reply)
    }

    /// Opens an end-session URL and confirms the sign-out like Logto's self-submitting page.
    /// Returns where it ended: `Redirected` to the post-logout redirect URI, or the provider's
    /// signed-out `Page`.
    pub fn end_session(&self, end_session_url: &str) -> Landing {
        self.open(end_session_url)
    }

    fn fetch(&self, method: &str, url: &str, form: Option<String>) -> HttpReply {
        let result = match (method, form) {
            ("GET", _) => self.agent.get(url).call(),
            (_, body) => self
                .agent
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.unwrap_or_default()),
        };
        raw::reply(result).unwrap_or_else(|error| panic!("browser: {method} {url} failed: {error}"))
    }

    fn follow(&self, origin: &str, mut url: String, mut reply: HttpReply) -> Landing {
        for _ in 0..MAX_HOPS {
            if (300..400).contains(&reply.status) {
                let location = reply
                    .header("location")
                    .unwrap_or_else(|| panic!("browser: redirect without Location from {url}"));
                let next = resolve(&url, location);
                if origin_of(&next) != origin {
                    return Landing::Redirected { url: next };
                }
                reply = self.fetch("GET", &next, None);
                url = next;
                continue;
            }
            if reply.body.contains("id=\"login-form\"") {
                return Landing::SignInPage(SignInPage {
                    url,
                    status: reply.status,
                    html: reply.body,
                });
            }
            if let Some((action, fields)) = self_submitting_form(&reply.body) {
                let action = resolve(&url, &action);
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                reply = self.fetch("POST", &action, Some(raw::form_encode(&pairs)));
                url = action;
                continue;
            }
            return Landing::Page {
                url,
                status: reply.status,
                body: reply.body,
            };
        }
        panic!("browser: more than {MAX_HOPS} redirects, last at {url}");
    }
}

fn origin_of(url: &str) -> String {
    Url::parse(url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default()
}

fn resolve(base: &str, reference: &str) -> String {
    Url::parse(base)
        .and_then(|base| base.join(reference))
        .map(String::from)
        .unwrap_or_else(|_| reference.to_owned())
}

/// The opening tag of `<form id="form_id" ...>`.
fn form_tag<'a>(html: &'a str, form_id: &str) -> Option<&'a str> {
    let marker = format!("id=\"{form_id}\"");
    let mut from = 0;
    while let Some(offset) = html[from..].find("<form") {
        let start = from + offset;
        let end = start + html[start..].find('>')?;
        let tag = &html[start..end];
        if tag.contains(&marker) {
            return Some(tag);
        }
        from = end;
    }
    None
}

/// The action and hidden inputs of a form the page submits by itself, as a browser with
/// scripts would: Logto's sign-out page (`op.logoutForm`, with `logout=yes`) and
/// oidc-provider's form posts (the device page opened with the code filled in).
fn self_submitting_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = match html.find("id=\"op.logoutForm\"") {
        Some(marker) => html[..marker].rfind("<form")?,
        None if html.contains("document.forms[0].submit()") => html.find("<form")?,
        None => return None,
    };
    let end = start + html[start..].find('>')?;
    let action = attribute(&html[start..end], "action")?;
    Some((action, hidden_inputs_from(html, start)))
}

/// The hidden inputs inside `<form id="form_id">`.
fn hidden_inputs(html: &str, form_id: &str) -> Vec<(String, String)> {
    let marker = format!("id=\"{form_id}\"");
    match html.find(&marker) {
        Some(start) => hidden_inputs_from(html, start),
        None => Vec::new(),
    }
}

/// The hidden inputs from `start` to the end of that form.
fn hidden_inputs_from(html: &str, start: usize) -> Vec<(String, String)> {
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |end| start + end);
    let mut fields = Vec::new();
    let mut rest = &html[start..end];
    while let Some(offset) = rest.find("<input") {
        let tag_end = rest[offset..]
            .find('>')
            .map_or(rest.len(), |end| offset + end);
        let tag = &rest[offset..tag_end];
        if attribute(tag, "type").as_deref() == Some("hidden") {
            if let Some(name) = attribute(tag, "name") {
                fields.push((name, attribute(tag, "value").unwrap_or_default()));
            }
        }
        rest = &rest[tag_end..];
    }
    fields
}

/// The value of `name="..."` in a tag (double-quoted, HTML-unescaped).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
