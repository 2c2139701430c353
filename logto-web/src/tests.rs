//! The rules' unit tests: settings, cookies, `return_to`, cross-site refusal.

use crate::session::SessionId;
use crate::{Answer, Error, LogtoWeb, RequestHeaders, Route, WebRequest};
use logto_proto::Config as LogtoConfig;

fn logto(base_url: &str) -> LogtoWeb {
    let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
        .app_secret("app-secret")
        .build()
        .unwrap();
    LogtoWeb::builder(config, base_url).build().unwrap()
}

#[test]
fn only_http_origins_are_base_urls() {
    let config = || {
        LogtoConfig::builder("https://tenant.logto.app", "app-id")
            .build()
            .unwrap()
    };
    for bad in [
        "localhost:3000",
        "ftp://app.example.com",
        "https://app.example.com/app",
        "https://app.example.com/?x=1",
        "https://user:pw@app.example.com",
    ] {
        let err = LogtoWeb::builder(config(), bad).build().unwrap_err();
        assert!(matches!(err, Error::InvalidBaseUrl { .. }), "{bad}: {err}");
    }
    assert!(LogtoWeb::builder(config(), "https://app.example.com")
        .build()
        .is_ok());
    for bad in ["auth", "/auth/", "//auth", "/a b", "/a?x"] {
        let built = LogtoWeb::builder(config(), "https://app.example.com")
            .route_prefix(bad)
            .build();
        assert!(matches!(built, Err(Error::InvalidPath { .. })), "{bad}");
    }
    for bad in ["home", "//evil.example/"] {
        let built = LogtoWeb::builder(config(), "https://app.example.com")
            .after_sign_out(bad)
            .build();
        assert!(matches!(built, Err(Error::InvalidPath { .. })), "{bad}");
    }
}

#[test]
fn cookies_are_host_only_http_only_lax_and_secure_on_https() {
    let https = logto("https://app.example.com");
    let id = SessionId::random().unwrap();
    let cookie = https.session_cookie(&id);
    assert!(cookie.starts_with(&format!("__Host-logto_session={}", id.cookie_value())));
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let http = logto("http://localhost:3000").session_cookie(&id);
    assert!(http.starts_with("logto_session="), "{http}");
    assert!(!http.contains("Secure"), "{http}");
    assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
    // The store sees a digest, never the cookie's value.
    assert!(id.store_key().starts_with("logto:"));
    assert!(!id.store_key().contains(id.cookie_value()));
    let again = SessionId::parse(id.cookie_value()).unwrap();
    assert_eq!(again.store_key(), id.store_key());
    assert!(SessionId::parse("short").is_none());
    assert!(SessionId::parse(&"a;".repeat(22)[..43]).is_none());
}

#[test]
fn return_to_must_be_a_path_of_the_app() {
    let logto = logto("https://app.example.com");
    assert_eq!(logto.same_origin_path("/a/b?c=d").unwrap(), "/a/b?c=d");
    assert_eq!(logto.same_origin_path("/").unwrap(), "/");
    for bad in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "relative",
        "/a\nb",
        "/.//evil.example",
        "/a/..//evil.example",
        "/%2e//evil.example",
        "",
    ] {
        let err = logto.same_origin_path(bad).unwrap_err();
        assert!(matches!(err, Error::ReturnToRejected { .. }), "{bad:?}");
        assert_eq!(err.http_status(), 400);
    }
    assert!(logto.same_origin_path(&"/a".repeat(2000)).is_err());
}

#[test]
fn cross_site_requests_are_refused() {
    let logto = logto("https://app.example.com");
    let headers = |pairs: &[(&'static str, &'static str)]| {
        RequestHeaders::from_pairs(pairs.iter().map(|(n, v)| (*n, v.as_bytes())))
    };
    let allowed = [
        headers(&[]),
        headers(&[("sec-fetch-site", "same-origin")]),
        headers(&[("sec-fetch-site", "none")]),
        headers(&[("origin", "https://app.example.com")]),
    ];
    for request in allowed {
        assert!(logto.refuse_cross_site(&request).is_ok(), "{request:?}");
    }
    let refused = [
        headers(&[("sec-fetch-site", "cross-site")]),
        headers(&[("sec-fetch-site", "same-site")]),
        headers(&[("origin", "https://evil.example")]),
        headers(&[("origin", "https://sub.app.example.com")]),
        headers(&[("origin", "null")]),
        headers(&[("origin", "http://app.example.com")]),
    ];
    for request in refused {
        let err = logto.refuse_cross_site(&request).unwrap_err();
        assert_eq!(err.http_status(), 403, "{request:?}");
        assert_eq!(err.kind(), "cross_site_request");
    }
}

fn request<'a>(method: &'a str, path_and_query: &'a str, body: &'a [u8]) -> WebRequest<'a> {
    WebRequest {
        method,
        path_and_query,
        headers: RequestHeaders::default(),
        body,
    }
}

fn answer(logto: &LogtoWeb, route: Route, request: &WebRequest<'_>) -> Answer {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(logto.handle(route, request))
}

#[test]
fn a_method_a_route_does_not_take_is_405_naming_those_it_takes() {
    let logto = logto("https://app.example.com");
    for (route, method, allow) in [
        (Route::SignIn, "HEAD", "GET"),
        (Route::SignOut, "HEAD", "GET, POST"),
        (Route::Callback, "POST", "GET"),
        (Route::BackchannelLogout, "GET", "POST"),
    ] {
        let refused = answer(&logto, route, &request(method, route.path(), &[]));
        assert_eq!(refused.status, 405, "{method} {route:?}");
        assert_eq!(
            refused.header_value("allow"),
            Some(allow),
            "{method} {route:?}"
        );
    }
}

#[test]
fn a_back_channel_body_over_the_limit_is_413_unread() {
    let logto = logto("https://app.example.com");
    let huge = vec![b'a'; crate::BACKCHANNEL_LOGOUT_BODY_LIMIT + 1];
    let refused = answer(
        &logto,
        Route::BackchannelLogout,
        &request("POST", "/backchannel-logout", &huge),
    );
    assert_eq!(refused.status, 413);
    assert_eq!(refused.header_value("cache-control"), Some("no-store"));
}

#[test]
fn a_sign_in_with_two_return_to_values_is_refused() {
    let logto = logto("https://app.example.com");
    let twice = request(
        "GET",
        "/sign-in?return_to=%2Fa&return_to=%2F%2Fevil.example",
        &[],
    );
    let refused = answer(&logto, Route::SignIn, &twice);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body, r#"{"error":"return_to_rejected"}"#);
}

#[test]
fn debug_output_leaves_out_queries_bodies_and_cookie_values() {
    let callback = request(
        "GET",
        "/callback?code=secret-code&state=secret-state",
        b"logout_token=secret",
    );
    let shown = format!("{callback:?}");
    assert!(shown.contains("/callback"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    let mut answer = Answer::redirect("/");
    answer.set_cookie("logto_session=secret-id; HttpOnly".into());
    let answer = answer.header("Set-Cookie", "other=secret-too".into());
    let shown = format!("{answer:?}");
    assert!(shown.contains("logto_session"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}
