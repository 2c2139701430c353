//! A visitor of a web app under test: keeps the app's cookies, follows no redirect.

use crate::raw::{self, HttpReply};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A browser visiting the app at `base`: sends the cookies the app set (a plain jar keyed by
/// name, which is all one loopback app needs), follows no redirect. Clones share the jar, so
/// clones on several threads are one browser sending concurrent requests.
#[derive(Clone)]
pub struct Visitor {
    base: String,
    jar: Arc<Mutex<HashMap<String, String>>>,
    agent: ureq::Agent,
}

impl Visitor {
    /// A visitor with no cookie yet.
    pub fn new(base: &str) -> Visitor {
        Visitor {
            base: base.trim_end_matches('/').to_owned(),
            jar: Arc::default(),
            agent: raw::agent(Duration::from_secs(30)),
        }
    }

    /// Signs in at the app as alice: `GET /sign-in`, alice's sign-in at `provider`, and the
    /// app's callback, which must answer its redirect (303).
    #[track_caller]
    pub fn sign_in_as_alice(&self, provider: &crate::Provider) {
        let started = self.get("/sign-in");
        let alice = provider.alice();
        let location = started
            .header("location")
            .unwrap_or_else(|| panic!("/sign-in answered {} without a redirect", started.status));
        let callback = provider.sign_in(location, &alice.username, &alice.password);
        let finished = self.get(&callback);
        assert_eq!(finished.status, 303, "the callback: {}", finished.body);
    }

    /// The value of cookie `name`, if the app set it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// The `Cookie` header this visitor sends (empty without cookies).
    pub fn cookie_header(&self) -> String {
        let jar = self.jar.lock().unwrap();
        let pairs: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }

    /// `GET` a path of the app (`/...`) or an absolute URL.
    #[track_caller]
    pub fn get(&self, path_or_url: &str) -> HttpReply {
        self.request("GET", path_or_url, &[])
    }

    /// A request with extra headers. Panics on a transport error.
    #[track_caller]
    pub fn request(&self, method: &str, path_or_url: &str, headers: &[(&str, &str)]) -> HttpReply {
        let url = match path_or_url.starts_with('/') {
            true => format!("{}{path_or_url}", self.base),
            false => path_or_url.to_owned(),
        };
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            request = request.header("cookie", cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).expect("a valid request");
        let reply =
            raw::reply(self.agent.run(request)).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        self.keep_cookies(&reply);
        reply
    }

    fn keep_cookies(&self, reply: &HttpReply) {
        let mut jar = self.jar.lock().unwrap();
        for (_, set_cookie) in reply.headers.iter().filter(|(k, _)| k == "set-cookie") {
            let pair = set_cookie.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if value.is_empty() || set_cookie.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}
