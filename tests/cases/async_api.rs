//! Machine-to-machine tokens and API protection against the project's Logto-compatible
//! provider: its machine app (client credentials), its web app's user tokens, its keys.

use crate::sdk::*;
use logto_integration::fixtures::API_RESOURCE;
use logto_integration::{raw, Browser, Provider};
use serde_json::json;
use std::time::Duration;

fn machine(provider: &Provider) -> MachineClient {
    let app = provider.machine_client();
    let config = LogtoConfig::builder(provider.endpoint(), &app.client_id)
        .app_secret(app.client_secret.as_deref().unwrap())
        .build()
        .unwrap();
    MachineClient::new(config).unwrap()
}

fn requests_to(provider: &Provider, path: &str) -> usize {
    provider
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn refusal(result: Result<std::sync::Arc<VerifiedAccessToken>, Error>) -> AccessTokenError {
    match result {
        Err(Error::Protocol(proto::Error::AccessToken(e))) => e,
        other => panic!("not refused as an access token: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_machine_tokens_are_cached_fetched_once_and_dropped_after_a_401() {
    let provider = Provider::start();
    let machine = machine(&provider);
    let target = TokenTarget::resource(API_RESOURCE).with_scopes(["read:data"]);

    // Twenty tasks at once: one token request.
    let before = provider.token_request_count();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (machine, target) = (machine.clone(), target.clone());
            tokio::spawn(async move { machine.token_for(&target).await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().token.expose().to_owned());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(provider.token_request_count(), before + 1, "single-flight");
    let (_, claims) = raw::decode_jwt(&tokens[0]);
    assert_eq!(claims["sub"], provider.machine_client().client_id.as_str());
    assert_eq!(claims["scope"], "read:data");

    // Cached, until the API refuses it.
    machine.token_for(&target).await.unwrap();
    assert_eq!(provider.token_request_count(), before + 1);
    assert!(machine.invalidate(&target, &tokens[0]));
    assert!(!machine.invalidate(&target, &tokens[0]), "dropped once");
    let fresh = machine.token_for(&target).await.unwrap();
    assert_ne!(fresh.token.expose(), tokens[0]);
    assert_eq!(provider.token_request_count(), before + 2);
    // A scope the machine's roles do not grant is not in its token.
    let wider = machine
        .access_token(API_RESOURCE, ["read:data", "delete:everything"])
        .await
        .unwrap();
    assert_eq!(raw::decode_jwt(&wider).1["scope"], "read:data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_machine_and_user_tokens_are_verified_and_authorized() {
    let provider = Provider::start();
    let validator = ApiValidator::new(provider.endpoint()).unwrap();
    let route = Requirement::resource(API_RESOURCE).scopes(["read:data"]);

    let machine_token = machine(&provider)
        .access_token(API_RESOURCE, ["read:data", "write:data"])
        .await
        .unwrap();
    let verified = validator
        .authorize(Some(&bearer(&machine_token)), &route)
        .await
        .unwrap();
    assert!(verified.is_machine());
    assert_eq!(verified.scopes, ["read:data", "write:data"]);

    // The web app's user token for the same API.
    let client = provider.confidential_client();
    let config = LogtoConfig::builder(provider.endpoint(), &client.client_id)
        .app_secret(client.client_secret.as_deref().unwrap())
        .scopes(["read:data"])
        .resources([API_RESOURCE])
        .build()
        .unwrap();
    let user = LogtoClient::new(config).unwrap();
    let url = user.sign_in(provider.redirect_uri()).await.unwrap();
    let alice = provider.alice();
    let callback = Browser::new().sign_in(&url, &alice.username, &alice.password);
    user.handle_sign_in_callback(&callback).await.unwrap();
    let user_token = user.access_token(API_RESOURCE).await.unwrap();
    let verified = validator
        .authorize(Some(&bearer(&user_token)), &route)
        .await
        .unwrap();
    assert!(!verified.is_machine());
    assert_eq!(verified.claims.sub.as_deref(), Some(alice.id.as_str()));

    // A scope alice lacks: 403 with the scope asked for.
    let write = Requirement::resource(API_RESOURCE).scopes(["write:data"]);
    let e = refusal(
        validator
            .authorize(Some(&bearer(&user_token)), &write)
            .await,
    );
    assert_eq!(e.http_status(), 403);
    assert_eq!(
        e.www_authenticate(),
        r#"Bearer error="insufficient_scope", scope="write:data""#
    );
    // Another API's route: 401.
    let other = Requirement::resource("https://api2.example.com");
    let e = refusal(
        validator
            .authorize(Some(&bearer(&user_token)), &other)
            .await,
    );
    assert_eq!(
        (e.http_status(), e.error_code()),
        (401, Some("invalid_token"))
    );
    // A token presented again is not verified again: no request at all.
    provider.reset_requests();
    for _ in 0..100 {
        validator
            .authorize(Some(&bearer(&user_token)), &route)
            .await
            .unwrap();
    }
    assert!(provider.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_a_rotated_key_costs_one_jwks_request_and_made_up_kids_one_per_cooldown() {
    let provider = Provider::start();
    let validator = ApiValidator::new(provider.endpoint()).unwrap();
    let machine = machine(&provider);
    let route = Requirement::resource(API_RESOURCE);
    let first = machine
        .access_token(API_RESOURCE, ["read:data"])
        .await
        .unwrap();
    validator
        .authorize(Some(&bearer(&first)), &route)
        .await
        .unwrap();

    // Made-up kids, in a burst: at most one JWKS request per cooldown (5 s by default).
    let (header, payload) = raw::decode_jwt(&first);
    provider.reset_requests();
    let started = std::time::Instant::now();
    let forged: Vec<String> = (0..1000)
        .map(|i| {
            let mut header = header.clone();
            header["kid"] = json!(format!("made-up-{i}"));
            format!(
                "{}.{}.{}",
                raw::encode_jwt_part(&header),
                raw::encode_jwt_part(&payload),
                first.rsplit('.').next().unwrap()
            )
        })
        .collect();
    for token in &forged {
        let e = refusal(validator.authorize(Some(&bearer(token)), &route).await);
        assert_eq!(e.http_status(), 401);
    }
    let seconds = started.elapsed().as_secs() as usize;
    let fetched = requests_to(&provider, "/oidc/jwks");
    assert!(
        fetched <= seconds / 5 + 1,
        "{fetched} JWKS requests in {seconds} s"
    );

    // A rotation after the cooldown: the new key's first token is accepted, with one JWKS
    // request however many tasks present it at once.
    tokio::time::sleep(Duration::from_secs(5)).await;
    provider.rotate_key("ES384");
    let machine = self::machine(&provider); // a new client: a token signed by the new key
    let rotated = machine
        .access_token(API_RESOURCE, ["read:data"])
        .await
        .unwrap();
    provider.reset_requests();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (validator, token, route) = (validator.clone(), rotated.clone(), route.clone());
            tokio::spawn(async move { validator.authorize(Some(&bearer(&token)), &route).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(requests_to(&provider, "/oidc/jwks"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_requests_without_a_usable_token_are_401() {
    let provider = Provider::start();
    let validator = ApiValidator::new(provider.endpoint()).unwrap();
    let route = Requirement::resource(API_RESOURCE);
    let e = refusal(validator.authorize(None, &route).await);
    assert_eq!(
        (e.http_status(), e.www_authenticate().as_str()),
        (401, "Bearer")
    );
    let token = machine(&provider)
        .access_token(API_RESOURCE, ["read:data"])
        .await
        .unwrap();
    let (header, mut payload) = raw::decode_jwt(&token);
    let signature = token.rsplit('.').next().unwrap();
    let jwt = |header: &serde_json::Value, payload: &serde_json::Value, signature: &str| {
        format!(
            "{}.{}.{signature}",
            raw::encode_jwt_part(header),
            raw::encode_jwt_part(payload)
        )
    };
    let expired = {
        payload["exp"] = json!(1_000_000_000);
        jwt(&header, &payload, signature)
    };
    let cases = [
        ("Basic dXNlcjpwdw==".to_owned(), "NotBearer"),
        (bearer("not-a-jwt"), "Malformed"),
        (
            bearer(&jwt(&json!({"alg": "none"}), &payload, "")),
            "UnsupportedAlgorithm",
        ),
        (
            bearer(&jwt(
                &json!({"alg": "HS256", "kid": header["kid"]}),
                &payload,
                "c2ln",
            )),
            "UnsupportedAlgorithm",
        ),
        (bearer(&expired), "BadSignature"),
    ];
    for (authorization, kind) in cases {
        let e = refusal(validator.authorize(Some(&authorization), &route).await);
        assert!(format!("{e:?}").contains(kind), "{kind}: {e:?}");
        assert_eq!(e.http_status(), 401, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_a_machine_gets_organization_tokens_for_its_organizations_only() {
    let provider = Provider::start();
    let validator = ApiValidator::new(provider.endpoint()).unwrap();
    let machine = machine(&provider);
    let target = TokenTarget::organization("org1").with_scopes(["read:members"]);
    let token = machine.token_for(&target).await.unwrap();
    assert_eq!(token.scope.as_deref(), Some("read:members"));
    let members = Requirement::organization("org1").scopes(["read:members"]);
    let verified = validator
        .authorize(Some(&bearer(token.token.expose())), &members)
        .await
        .unwrap();
    assert!(verified.is_machine());
    assert_eq!(verified.organization_id(), Some("org1"));
    // Not a token for another organization's routes, nor for the API.
    let other = Requirement::organization("org2");
    let e = refusal(
        validator
            .authorize(Some(&bearer(token.token.expose())), &other)
            .await,
    );
    assert_eq!(e.http_status(), 401);
    let api = Requirement::resource(API_RESOURCE);
    let e = refusal(
        validator
            .authorize(Some(&bearer(token.token.expose())), &api)
            .await,
    );
    assert_eq!(e.http_status(), 401);
    // An organization the app is not in: 403 access_denied from the provider.
    match machine.token_for(&TokenTarget::organization("org3")).await {
        Err(Error::Provider(p)) => {
            assert_eq!((p.status, p.error.as_deref()), (403, Some("access_denied")))
        }
        other => panic!("{other:?}"),
    }
}
