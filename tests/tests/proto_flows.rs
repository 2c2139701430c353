//! logto-proto's flows over real HTTP against the Logto-compatible provider: discovery,
//! sign-in with the automated login, callback, verified tokens, user info, resource and
//! organization tokens, refresh with rotation, revocation, end session; for ES384, RS256 and
//! PS256, with key rotation mid-session and faults on refresh.
//!
//! The requests are sent with a plain blocking HTTP call (no redirects followed), the way an
//! adapter does.

use logto_integration::fixtures::{API2_RESOURCE, API_RESOURCE, ORG1, ORG3};
use logto_integration::{raw, Browser, FaultMode, Provider};
use logto_proto::{adapter::*, errors::*};
use logto_proto::{
    decode_claims, AccessToken, AccessTokenClaims, Audience, Config, Error, IdTokenClaims,
    InteractionMode, OrganizationTokenClaims, Prompt, SignInOptions, TokenTarget, UnixTime,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> UnixTime {
    UnixTime::from_secs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Sends a core request with ureq, without following redirects.
fn send(request: HttpRequest) -> Result<HttpResponse, String> {
    let agent = raw::agent(Duration::from_secs(5));
    let result = match request.method {
        Method::Get => {
            let mut r = agent.get(&request.url);
            for (k, v) in &request.headers {
                r = r.header(k, v);
            }
            r.call()
        }
        _ => {
            let mut r = agent.post(&request.url);
            for (k, v) in &request.headers {
                r = r.header(k, v);
            }
            r.send(&request.body[..])
        }
    };
    let reply = raw::reply(result).map_err(|e| e.to_string())?;
    let mut response = HttpResponse::new(reply.status, reply.body.clone().into_bytes());
    response.headers = reply.headers.clone();
    Ok(response)
}

struct Session {
    config: Config,
    cache: ProviderCache,
    snapshot: Snapshot,
}

impl Session {
    fn new(provider: &Provider, confidential: bool) -> Session {
        let client = if confidential {
            provider.confidential_client()
        } else {
            provider.public_client()
        };
        let mut builder = Config::builder(provider.endpoint(), &client.client_id)
            .scopes([
                "email",
                "phone",
                "address",
                "custom_data",
                "identities",
                "roles",
                "urn:logto:scope:organizations",
                "urn:logto:scope:organization_roles",
                "read:data",
                "read:reports",
                "read:books",
            ])
            .resources([API_RESOURCE, API2_RESOURCE]);
        if let Some(secret) = &client.client_secret {
            builder = builder.app_secret(secret);
        }
        Session {
            config: builder.build().unwrap(),
            cache: ProviderCache::new(),
            snapshot: Snapshot::new(),
        }
    }

    fn ctx(&mut self) -> Context<'_> {
        Context::new(&self.config, &mut self.cache, &mut self.snapshot)
    }

    fn drive<O: Operation>(mut op: O) -> Result<O::Output, Error> {
        run(&mut op, now, send).map_err(|e| match e {
            RunError::Protocol(e) => e,
            RunError::Transport(t) => panic!("transport: {t}"),
        })
    }

    fn sign_in(&mut self, provider: &Provider, options: SignInOptions) -> IdTokenClaims {
        let mut entropy = [0u8; 96];
        getrandom::fill(&mut entropy).unwrap();
        let url = Self::drive(
            self.ctx()
                .sign_in(options, SignInEntropy::from_bytes(entropy)),
        )
        .unwrap();
        let alice = provider.alice();
        let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
        Self::drive(self.ctx().handle_sign_in_callback(callback)).unwrap()
    }

    fn token(&mut self, target: TokenTarget, force: bool) -> Result<AccessToken, Error> {
        Self::drive(self.ctx().access_token(target, force))
    }
}

fn id_token_alg(snapshot: &Snapshot) -> String {
    let token = snapshot.id_token().unwrap().expose();
    let (header, _) = raw::decode_jwt(token);
    header["alg"].as_str().unwrap().to_owned()
}

fn whole_guide_flow(alg: &str) {
    let provider = Provider::builder().signing_alg(alg).start();
    let mut s = Session::new(&provider, true);

    // Discovery.
    let metadata = Session::drive(s.ctx().discover()).unwrap();
    assert_eq!(metadata.issuer, provider.issuer());
    assert!(metadata.authorization_response_iss_parameter_supported);

    // Sign in ⇒ automated login ⇒ callback ⇒ verified ID token.
    let claims = s.sign_in(&provider, SignInOptions::new(provider.redirect_uri()));
    let alice = provider.alice();
    assert_eq!(claims.sub, alice.id);
    assert_eq!(claims.username.as_deref(), Some(alice.username.as_str()));
    assert!(
        claims.created_at.unwrap() > 1_000_000_000_000,
        "created_at is in milliseconds"
    );
    assert_eq!(
        claims
            .organizations
            .as_ref()
            .map(|o| o.contains(&ORG1.to_string())),
        Some(true)
    );
    assert_eq!(id_token_alg(&s.snapshot), alg);
    assert!(s.snapshot.is_authenticated());

    // User info with custom data.
    let info = Session::drive(s.ctx().fetch_user_info()).unwrap();
    assert_eq!(info.sub, alice.id);
    assert!(info.custom_data.is_some());
    assert!(info.organization_data.is_some());

    // Resource token: a JWT for the resource.
    let token = s.token(TokenTarget::resource(API_RESOURCE), false).unwrap();
    let claims: AccessTokenClaims = decode_claims(token.token.expose()).unwrap();
    assert_eq!(claims.aud, Some(Audience(vec![API_RESOURCE.into()])));
    assert_eq!(claims.sub.as_deref(), Some(alice.id.as_str()));

    // Organization token and organization-scoped API token.
    let org = s.token(TokenTarget::organization(ORG1), false).unwrap();
    let claims: OrganizationTokenClaims = decode_claims(org.token.expose()).unwrap();
    assert_eq!(claims.organization_id(), Some(ORG1));
    let scoped = s
        .token(
            TokenTarget::resource_in_organization(API_RESOURCE, ORG1),
            false,
        )
        .unwrap();
    let claims: AccessTokenClaims = decode_claims(scoped.token.expose()).unwrap();
    assert_eq!(claims.organization_id.as_deref(), Some(ORG1));
    match s.token(TokenTarget::organization(ORG3), false).unwrap_err() {
        Error::Provider(p) => assert_eq!(p.status, 403),
        other => panic!("non-member org: {other:?}"),
    }

    // Cached tokens need no request; force refresh does one.
    let before = provider.refresh_count();
    s.token(TokenTarget::resource(API_RESOURCE), false).unwrap();
    assert_eq!(provider.refresh_count(), before);
    s.token(TokenTarget::resource(API_RESOURCE), true).unwrap();
    assert_eq!(provider.refresh_count(), before + 1);

    // The snapshot survives storage.
    s.snapshot = Snapshot::from_json(&s.snapshot.to_json()).unwrap();

    // Sign out: revocation, end-session URL; the revoked refresh token no longer works.
    let revoked = s.snapshot.refresh_token().unwrap().expose().to_owned();
    let result =
        Session::drive(s.ctx().sign_out(Some(provider.post_logout_redirect_uri()))).unwrap();
    assert_eq!(result.revocation, Revocation::Revoked);
    assert!(result
        .end_session_url
        .starts_with(&provider.end_session_endpoint()));
    assert!(result.end_session_url.contains("id_token_hint="));
    let client = provider.confidential_client();
    let reply = raw::post_form(
        &provider.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &revoked)],
        client.auth(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert!(!s.snapshot.is_authenticated());
}

#[test]
fn provider_guide_flow_es384() {
    whole_guide_flow("ES384");
}

#[test]
fn provider_guide_flow_rs256() {
    whole_guide_flow("RS256");
}

#[test]
fn provider_guide_flow_ps256() {
    whole_guide_flow("PS256");
}

#[test]
fn provider_key_rotation_with_an_algorithm_change_mid_session() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, false);
    s.sign_in(&provider, SignInOptions::new(provider.redirect_uri()));
    assert_eq!(id_token_alg(&s.snapshot), "ES384");
    let rotated = provider.rotate_key("RS256");
    assert_eq!(rotated.signing_alg, "RS256");
    // The refresh returns an ID token signed by a kid the cached JWKS lacks: one refetch.
    s.token(TokenTarget::resource(API_RESOURCE), true).unwrap();
    assert_eq!(id_token_alg(&s.snapshot), "RS256");
    let jwks_fetches = provider
        .requests()
        .iter()
        .filter(|r| r.path == "/oidc/jwks")
        .count();
    assert_eq!(jwks_fetches, 2);
}

#[test]
fn provider_public_client_rotation_is_never_reused() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, false);
    s.sign_in(&provider, SignInOptions::new(provider.redirect_uri()));
    let mut seen = std::collections::HashSet::new();
    for target in [
        TokenTarget::resource(API_RESOURCE),
        TokenTarget::resource(API2_RESOURCE),
        TokenTarget::organization(ORG1),
        TokenTarget::userinfo(),
    ] {
        let rt = s.snapshot.refresh_token().unwrap().expose().to_owned();
        assert!(
            seen.insert(rt),
            "a consumed refresh token would be presented"
        );
        s.token(target, true).unwrap();
    }
    assert!(s.snapshot.is_authenticated());
}

#[test]
fn provider_500_on_refresh_keeps_the_refresh_token_usable() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, true);
    s.sign_in(&provider, SignInOptions::new(provider.redirect_uri()));
    let before = s.snapshot.clone();
    provider.fail_next_token_responses(FaultMode::ServerError, 1);
    match s
        .token(TokenTarget::resource(API_RESOURCE), true)
        .unwrap_err()
    {
        Error::Provider(p) => assert_eq!(p.status, 500),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.snapshot, before, "every token is kept");
    provider.fail_next_token_responses(FaultMode::Malformed, 1);
    assert!(matches!(
        s.token(TokenTarget::resource(API_RESOURCE), true)
            .unwrap_err(),
        Error::Response(_)
    ));
    assert_eq!(s.snapshot, before);
    // The kept refresh token still works.
    s.token(TokenTarget::resource(API_RESOURCE), true).unwrap();
}

#[test]
fn provider_cancelled_sign_in_reports_access_denied() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, true);
    let url = Session::drive(s.ctx().sign_in(
        SignInOptions::new(provider.redirect_uri()),
        SignInEntropy::from_bytes([3; 96]),
    ))
    .unwrap();
    let callback = Browser::new().cancel_sign_in(&url);
    match Session::drive(s.ctx().handle_sign_in_callback(callback)).unwrap_err() {
        Error::Callback(CallbackError::Provider { error, .. }) => {
            assert_eq!(error, "access_denied")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.snapshot.pending_sign_in().is_some());
}

#[test]
fn provider_sign_up_mode_and_prompt_login_consent() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, true);
    let url = Session::drive(
        s.ctx().sign_in(
            SignInOptions::new(provider.redirect_uri())
                .interaction_mode(InteractionMode::SignUp)
                .prompt([Prompt::Login, Prompt::Consent]),
            SignInEntropy::from_bytes([4; 96]),
        ),
    )
    .unwrap();
    let browser = Browser::new();
    let page = browser.open(&url).expect_sign_in_page();
    assert_eq!(page.data("interaction-mode").as_deref(), Some("signUp"));
    let alice = provider.alice();
    let callback = browser
        .submit_sign_in(&page, &alice.username, &alice.password)
        .expect_redirect();
    Session::drive(s.ctx().handle_sign_in_callback(callback)).unwrap();
    // `login consent` still yields a refresh token.
    assert!(s.snapshot.refresh_token().is_some());
}

#[test]
fn provider_invalid_grant_signs_the_session_out() {
    let provider = Provider::start();
    let mut s = Session::new(&provider, true);
    s.sign_in(&provider, SignInOptions::new(provider.redirect_uri()));
    // Revoke behind the session's back.
    let client = provider.confidential_client();
    let rt = s.snapshot.refresh_token().unwrap().expose().to_owned();
    raw::post_form(
        &provider.revocation_endpoint(),
        &[("token", &rt), ("token_type_hint", "refresh_token")],
        client.auth(),
    )
    .expect_status(200);
    assert!(matches!(
        s.token(TokenTarget::resource(API_RESOURCE), true)
            .unwrap_err(),
        Error::SessionExpired(_)
    ));
    assert!(!s.snapshot.is_authenticated());
}
