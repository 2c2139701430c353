//! Sign-in without a web server against the project's provider: device sign-in in both
//! drivers (completed by the test browser entering the code), a native app's loopback
//! redirect on a port chosen at run time, and token exchange (personal access tokens,
//! impersonation subject tokens, actor tokens, an app not allowed to exchange).

use logto_integration::examples::{artifacts_dir, example_binary, free_port, start_server};
use logto_integration::fixtures::{API_RESOURCE, ORG1};
use logto_integration::{raw, Browser, Fault, FaultMode, Landing, Provider, RequestRecord};
use logto_ureq::proto::{adapter::DEVICE_CODE_GRANT, Error as CoreError};
use logto_ureq::{
    AccessTokenClaims, BrowserSignIn, Cancel, DeviceAuthorization, DeviceError, Error, LogtoClient,
    LogtoConfig, MachineClient, Requirement, TokenExchange, TokenExchangeError,
};
use std::process::Command;
use std::time::Duration;

/// Seconds between polls the provider asks for (Logto's default is 5; shorter keeps the
/// tests short, the rules are the same).
const POLL_INTERVAL_S: u64 = 1;

fn provider() -> Provider {
    Provider::builder()
        .env("DEVICE_POLL_INTERVAL", &POLL_INTERVAL_S.to_string())
        .start()
}

/// The native app's config: public (no secret), as a CLI or a device has.
fn native_config(provider: &Provider) -> LogtoConfig {
    LogtoConfig::builder(provider.endpoint(), &provider.native_client().client_id)
        .scopes(["email", "urn:logto:scope:organizations", "read:data"])
        .resources([API_RESOURCE])
        .build()
        .unwrap()
}

fn device_polls(provider: &Provider) -> Vec<RequestRecord> {
    provider
        .requests()
        .into_iter()
        .filter(|r| r.grant_type.as_deref() == Some(DEVICE_CODE_GRANT))
        .collect()
}

/// Waits until the device polls the provider saw so far satisfy `done`.
fn wait_for(provider: &Provider, done: impl Fn(&[RequestRecord]) -> bool) {
    for _ in 0..600 {
        if done(&device_polls(provider)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the device never polled as expected: {:?}",
        device_polls(provider)
    );
}

/// The user, on another screen: enters the code and signs in as alice, after `delay`.
fn user_signs_in_later(
    provider: &Provider,
    device: &DeviceAuthorization,
    delay: Duration,
) -> std::thread::JoinHandle<Landing> {
    let (uri, code) = (
        device.verification_uri().to_owned(),
        device.user_code().to_owned(),
    );
    let alice = provider.alice().clone();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        Browser::new().device_sign_in(&uri, &code, &alice.username, &alice.password)
    })
}

fn assert_signed_in_page(landing: Landing) {
    match landing {
        Landing::Page {
            status: 200, body, ..
        } => assert!(body.contains("device-signed-in"), "{body}"),
        other => panic!("the device verification ended at {other:?}"),
    }
}

#[test]
fn device_sign_in_waits_for_the_user_and_keeps_the_providers_pace() {
    let provider = provider();
    let client = LogtoClient::new(native_config(&provider)).unwrap();
    let device = client.start_device_sign_in().unwrap();
    assert!(
        device.verification_uri().starts_with(provider.issuer()),
        "{device:?}"
    );
    assert!(device
        .verification_uri_complete()
        .unwrap()
        .contains(device.user_code()));
    assert!(device.expires_at() > client.now());
    assert_eq!(device.interval(), POLL_INTERVAL_S);
    assert!(
        !client.is_authenticated().unwrap(),
        "starting stores nothing"
    );

    let claims = std::thread::scope(|scope| {
        let user = scope.spawn(|| {
            // Two polls find the user not done; then the provider asks to slow down (once);
            // then the user enters the code and signs in.
            wait_for(&provider, |polls| polls.len() >= 2);
            provider.inject_fault(Fault {
                grant_type: Some(DEVICE_CODE_GRANT.into()),
                ..Fault::token(FaultMode::SlowDown, 1)
            });
            wait_for(&provider, |polls| polls.iter().any(|p| p.slow_down));
            let alice = provider.alice();
            Browser::new().device_sign_in(
                device.verification_uri(),
                device.user_code(),
                &alice.username,
                &alice.password,
            )
        });
        let claims = client.complete_device_sign_in(&device).unwrap();
        assert_signed_in_page(user.join().unwrap());
        claims
    });
    assert_eq!(claims.sub, provider.alice().id);

    let polls = device_polls(&provider);
    let statuses: Vec<_> = polls.iter().map(|p| (p.status, p.slow_down)).collect();
    assert_eq!(
        polls.iter().filter(|p| p.slow_down).count(),
        1,
        "only the injected slow_down: {statuses:?}"
    );
    assert!(
        polls
            .iter()
            .filter(|p| p.status == Some(400) && !p.slow_down)
            .count()
            >= 2,
        "pending polls: {statuses:?}"
    );
    assert_eq!(polls.last().unwrap().status, Some(200), "{statuses:?}");
    // The provider's clock: each poll at least the interval in force after the one before.
    let mut interval_ms = POLL_INTERVAL_S * 1000;
    for pair in polls.windows(2) {
        if pair[0].slow_down {
            interval_ms += 5_000;
        }
        let gap = pair[1].time_ms - pair[0].time_ms;
        assert!(
            gap >= interval_ms,
            "polls {} ms apart, interval {interval_ms} ms: {statuses:?}",
            gap
        );
    }

    // The session is a session like any other: tokens, organization tokens, refresh.
    assert!(client.is_authenticated().unwrap());
    assert!(client.refresh_token().unwrap().is_some());
    let api = client.access_token_claims(API_RESOURCE).unwrap();
    assert_eq!(api.sub.as_deref(), Some(provider.alice().id.as_str()));
    client.organization_token(ORG1).unwrap();
    assert_eq!(client.fetch_user_info().unwrap().sub, claims.sub);
}

#[test]
fn a_refused_or_expired_device_sign_in_is_a_typed_error_and_keeps_the_session() {
    let provider = Provider::builder()
        .env("DEVICE_POLL_INTERVAL", &POLL_INTERVAL_S.to_string())
        .env("DEVICE_CODE_TTL", "3")
        .start();
    let client = LogtoClient::new(native_config(&provider)).unwrap();

    // A native app signs in through a loopback redirect on a port chosen now (RFC 8252).
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let url = client.sign_in(&redirect).unwrap();
    let alice = provider.alice();
    let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
    assert!(callback.starts_with(&redirect), "{callback}");
    client.handle_sign_in_callback(&callback).unwrap();
    let session = client.refresh_token().unwrap();

    // The user presses Abort on the verification page.
    let device = client.start_device_sign_in().unwrap();
    let complete = device.verification_uri_complete().unwrap().to_owned();
    let user = std::thread::spawn(move || Browser::new().abort_device_sign_in(&complete));
    match client.complete_device_sign_in(&device) {
        Err(Error::Protocol(CoreError::Device(DeviceError::Denied(e)))) => {
            assert!(e.is("access_denied"), "{e}")
        }
        other => panic!("an aborted device sign-in gave {other:?}"),
    }
    user.join().unwrap();
    assert_eq!(
        client.refresh_token().unwrap(),
        session,
        "the stored session is kept"
    );

    // Nobody comes: the code expires (3 s), and no poll goes out after it.
    let device = client.start_device_sign_in().unwrap();
    match client.complete_device_sign_in(&device) {
        Err(Error::Protocol(CoreError::Device(DeviceError::Expired { expires_at, now }))) => {
            assert_eq!(expires_at, device.expires_at());
            assert!(now >= expires_at);
        }
        other => panic!("an expired device sign-in gave {other:?}"),
    }
    let last_poll_s = device_polls(&provider).last().map(|p| p.time_ms / 1000);
    assert!(
        last_poll_s <= Some(device.expires_at().as_secs()),
        "a poll at {last_poll_s:?}, after the expiry {}",
        device.expires_at()
    );
    assert_eq!(client.refresh_token().unwrap(), session);

    // Cancelled from another thread while waiting.
    let device = client.start_device_sign_in().unwrap();
    let cancel = Cancel::new();
    let canceller = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        canceller.cancel();
    });
    match client.complete_device_sign_in_or_cancel(&device, &cancel) {
        Err(Error::Protocol(CoreError::Device(DeviceError::Cancelled))) => {}
        other => panic!("a cancelled device sign-in gave {other:?}"),
    }
    assert!(client.is_authenticated().unwrap());
}

#[test]
fn device_sign_in_in_the_async_driver() {
    let provider = provider();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = logto_reqwest::LogtoClient::new(native_config(&provider)).unwrap();
        let device = client.start_device_sign_in().await.unwrap();
        let user = user_signs_in_later(&provider, &device, Duration::from_millis(1_500));
        let claims = client.complete_device_sign_in(&device).await.unwrap();
        assert_signed_in_page(user.join().unwrap());
        assert_eq!(claims.sub, provider.alice().id);
        let token = client.access_token(API_RESOURCE).await.unwrap();
        let validator = logto_reqwest::ApiValidator::new(provider.endpoint()).unwrap();
        let verified = validator.verify_token(&token).await.unwrap();
        assert_eq!(
            verified.claims.sub.as_deref(),
            Some(provider.alice().id.as_str())
        );
        // A bare token that is none is refused as a header without one would be.
        assert!(validator.verify_token("").await.is_err());
        assert_eq!(
            device_polls(&provider)
                .iter()
                .filter(|p| p.slow_down)
                .count(),
            0
        );
    });
}

/// A token for `token` checked as an API checks it.
fn verified_sub(
    provider: &Provider,
    token: &str,
    requirement: &Requirement,
) -> Result<AccessTokenClaims, Error> {
    let validator = logto_ureq::ApiValidator::new(provider.endpoint()).unwrap();
    let verified = validator.authorize_token(token, requirement)?;
    Ok(verified.claims.clone())
}

#[test]
fn a_personal_access_token_buys_an_api_token_the_api_example_accepts() {
    let provider = provider();
    let alice = provider.alice().id.clone();
    let pat = provider.personal_access_token(&alice, None);
    let client = LogtoClient::new(native_config(&provider)).unwrap();
    let exchange =
        TokenExchange::personal_access_token(&pat).resource("https://shopping.example/api");
    let token = client.exchange_token(exchange).unwrap();
    assert_eq!(
        token.target.resource.as_deref(),
        Some("https://shopping.example/api")
    );
    assert!(
        !client.is_authenticated().unwrap(),
        "an exchange stores nothing"
    );
    let requirement = Requirement::resource("https://shopping.example/api").scopes(["read"]);
    assert_eq!(
        verified_sub(&provider, token.token.expose(), &requirement)
            .unwrap()
            .sub
            .as_deref(),
        Some(alice.as_str())
    );
    // A personal access token is not consumed.
    let again = client
        .exchange_token(TokenExchange::personal_access_token(&pat).resource(API_RESOURCE))
        .unwrap();
    assert_eq!(again.scope.as_deref(), Some("read:data write:data"));

    // The protected-API example takes it like any user token.
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(example_binary("logto-axum", "api"));
    command
        .env("LOGTO_ENDPOINT", provider.endpoint())
        .env("API_ADDR", &addr);
    let _api = start_server(command, &artifacts_dir().join("native-api.log"));
    let agent = raw::agent(Duration::from_secs(10));
    let request = ureq::http::Request::builder()
        .uri(format!("http://{addr}/api/orders"))
        .header("authorization", format!("Bearer {}", token.token.expose()))
        .body(())
        .unwrap();
    raw::reply(agent.run(request)).unwrap().expect_status(200);

    // A machine trades a personal access token too.
    let machine = provider.machine_client();
    let config = LogtoConfig::builder(provider.endpoint(), &machine.client_id)
        .app_secret(machine.client_secret.as_deref().unwrap())
        .build()
        .unwrap();
    let machine = MachineClient::new(config).unwrap();
    let org = machine
        .exchange_token(TokenExchange::personal_access_token(&pat).organization(ORG1))
        .unwrap();
    let claims: logto_ureq::OrganizationTokenClaims =
        logto_ureq::proto::decode_claims(org.token.expose()).unwrap();
    assert_eq!(claims.organization_id(), Some(ORG1));
}

#[test]
fn an_impersonation_token_is_good_once_and_an_actor_is_named() {
    let provider = provider();
    let web = provider.confidential_client();
    let config = LogtoConfig::builder(provider.endpoint(), &web.client_id)
        .app_secret(web.client_secret.as_deref().unwrap())
        .build()
        .unwrap();
    let client = LogtoClient::new(config).unwrap();
    let alice = provider.alice().id.clone();
    let subject = provider.subject_token(&alice, 600);
    let first = client
        .exchange_token(TokenExchange::impersonation(&subject).resource(API_RESOURCE))
        .unwrap();
    let claims = verified_sub(
        &provider,
        first.token.expose(),
        &Requirement::resource(API_RESOURCE),
    )
    .unwrap();
    assert_eq!(claims.sub.as_deref(), Some(alice.as_str()));
    assert!(claims.act.is_none());
    match client.exchange_token(TokenExchange::impersonation(&subject).resource(API_RESOURCE)) {
        Err(Error::Protocol(CoreError::TokenExchange(TokenExchangeError::TokenRefused(e)))) => {
            assert!(e.is("invalid_grant"), "{e}");
        }
        other => panic!("a second use gave {other:?}"),
    }

    // Bob acts for alice: his access token as the actor token.
    let bob = LogtoClient::new(native_config(&provider)).unwrap();
    let url = bob
        .sign_in(&format!("http://127.0.0.1:{}/callback", free_port()))
        .unwrap();
    let callback = Browser::new().sign_in(&url, &provider.bob().username, &provider.bob().password);
    bob.handle_sign_in_callback(&callback).unwrap();
    let actor = bob.access_token("").unwrap();
    let pat = provider.personal_access_token(&alice, Some(600));
    let delegated = client
        .exchange_token(
            TokenExchange::personal_access_token(&pat)
                .actor(&actor)
                .resource(API_RESOURCE),
        )
        .unwrap();
    let claims = verified_sub(
        &provider,
        delegated.token.expose(),
        &Requirement::resource(API_RESOURCE),
    )
    .unwrap();
    assert_eq!(claims.sub.as_deref(), Some(alice.as_str()));
    assert_eq!(
        claims.act.and_then(|a| a.sub).as_deref(),
        Some(provider.bob().id.as_str())
    );

    // The single-page app is not allowed to exchange.
    let spa = LogtoConfig::builder(provider.endpoint(), &provider.public_client().client_id)
        .build()
        .unwrap();
    let spa = LogtoClient::new(spa).unwrap();
    match spa.exchange_token(TokenExchange::personal_access_token(&pat).resource(API_RESOURCE)) {
        Err(
            error @ Error::Protocol(CoreError::TokenExchange(TokenExchangeError::NotAllowed(_))),
        ) => {
            assert!(!error.to_string().contains(&pat), "{error}");
        }
        other => panic!("an app without the exchange gave {other:?}"),
    }
}

#[test]
fn a_loopback_sign_in_answers_and_ignores_requests_that_are_not_its_callback() {
    let provider = provider();
    let client = LogtoClient::new(native_config(&provider)).unwrap();
    let alice = provider.alice();
    let (shown, url) = std::sync::mpsc::channel::<String>();
    let (claims, loopback) = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            let sign_in = BrowserSignIn::new()
                .open_browser(false)
                .wait(Duration::from_secs(60));
            client.sign_in_with_browser(sign_in, |url| shown.send(url.to_owned()).unwrap())
        });
        let url = url.recv_timeout(Duration::from_secs(30)).unwrap();
        let redirect_uri = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(name, _)| name == "redirect_uri")
            .map(|(_, value)| value.into_owned())
            .expect("the sign-in URL names its loopback redirect");
        let loopback = url::Url::parse(&redirect_uri).unwrap();
        let origin = format!("http://127.0.0.1:{}", loopback.port().unwrap());

        // Any local process can reach the port: another path, a callback without this
        // sign-in's state, one with a forged state. Each is answered; none ends the wait.
        assert_eq!(raw::get(&format!("{origin}/favicon.ico")).status, 404);
        assert_eq!(raw::get(&format!("{redirect_uri}?code=forged")).status, 400);
        let forged = raw::get(&format!("{redirect_uri}?code=forged&state=forged"));
        assert_eq!(forged.status, 400);
        assert!(!client.is_authenticated().unwrap());

        // The browser's callback signs the user in.
        let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
        let page = raw::get(&callback);
        assert_eq!(page.status, 200, "{}", page.body);
        (waiting.join().unwrap().unwrap(), loopback)
    });
    assert_eq!(claims.sub, alice.id);
    assert!(client.is_authenticated().unwrap());
    // The listener is gone; its accept thread closes the port a moment later.
    let address = (loopback.host_str().unwrap(), loopback.port().unwrap());
    let closed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(address).is_err()
    });
    assert!(closed, "the port is still open 5 s after the sign-in");
}
