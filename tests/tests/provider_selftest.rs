//! Proves that the test provider behaves like Logto, speaking raw HTTP only (no SDK code).
//! Each test starts its own provider on its own port.

use std::time::{Duration, Instant};

use logto_integration::fixtures::{
    API2_RESOURCE, API_RESOURCE, ORG1, ORG2, ORG3, ORGANIZATIONS_SCOPE, ORGANIZATION_RESOURCE,
    ORGANIZATION_ROLES_SCOPE,
};
use logto_integration::raw::{
    self, decode_jwt, is_jwt, post_form, query_param, AuthorizationRequest, ClientAuth, HttpReply,
};
use logto_integration::{Browser, ClientCredentials, Fault, FaultMode, Landing, Provider};
use serde_json::{json, Value};

/// Every user scope Logto knows, plus the resource and organization permissions.
const ALL_SCOPES: &str = "email phone address custom_data identities roles \
    urn:logto:scope:organizations urn:logto:scope:organization_roles \
    read:data write:data read:reports read:books write:books delete:books";

fn full_request(client: &ClientCredentials, provider: &Provider) -> AuthorizationRequest {
    AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .scopes(ALL_SCOPES)
        .resource(API_RESOURCE)
        .resource(API2_RESOURCE)
        .resource(ORGANIZATION_RESOURCE)
}

/// Signs `username` in through the form and returns the callback URL.
fn sign_in(provider: &Provider, request: &AuthorizationRequest, username: &str) -> String {
    let user = provider.user(username);
    provider.sign_in(
        &request.url(&provider.authorization_endpoint()),
        &user.username,
        &user.password,
    )
}

/// The authorization-code exchange; returns the raw reply.
fn exchange(
    provider: &Provider,
    client: &ClientCredentials,
    request: &AuthorizationRequest,
    callback: &str,
) -> HttpReply {
    let code = query_param(callback, "code").unwrap_or_else(|| panic!("no code in {callback}"));
    post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client.client_id),
            ("code", &code),
            ("code_verifier", &request.pkce.verifier),
            ("redirect_uri", &request.redirect_uri),
        ],
        client.auth(),
    )
}

/// Full sign-in (every scope, both API resources, organizations) and code exchange.
fn tokens_for(provider: &Provider, client: &ClientCredentials, username: &str) -> Value {
    let request = full_request(client, provider);
    let callback = sign_in(provider, &request, username);
    exchange(provider, client, &request, &callback).ok_json()
}

fn refresh(
    provider: &Provider,
    client: &ClientCredentials,
    refresh_token: &str,
    extra: &[(&str, &str)],
) -> HttpReply {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client.client_id.as_str()),
        ("refresh_token", refresh_token),
    ];
    form.extend_from_slice(extra);
    post_form(&provider.token_endpoint(), &form, client.auth())
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {value}"))
}

fn scopes_of(token_claims: &Value) -> Vec<String> {
    let mut scopes: Vec<String> = str_of(token_claims, "scope")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    scopes.sort();
    scopes
}

/// Asserts Logto's error body `{code, message, error, error_description?}`.
#[track_caller]
fn assert_logto_error(reply: &HttpReply, status: u16, error: &str) -> Value {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(body["code"], format!("oidc.{error}"), "body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
    body
}

#[test]
fn discovery_matches_logto() {
    let provider = Provider::start();
    let reply = raw::get(&provider.discovery_url());
    let doc = reply.ok_json();
    let endpoint = provider.endpoint();
    assert_eq!(doc["issuer"], format!("{endpoint}/oidc"));
    assert_eq!(provider.issuer(), format!("{endpoint}/oidc"));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{endpoint}/oidc/auth")
    );
    assert_eq!(doc["token_endpoint"], format!("{endpoint}/oidc/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{endpoint}/oidc/me"));
    assert_eq!(doc["jwks_uri"], format!("{endpoint}/oidc/jwks"));
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{endpoint}/oidc/session/end")
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{endpoint}/oidc/token/revocation")
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES384"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let scopes = doc["scopes_supported"].as_array().unwrap();
    for scope in [
        "openid",
        "offline_access",
        "profile",
        "email",
        "phone",
        "address",
        "custom_data",
        "identities",
        "roles",
        ORGANIZATIONS_SCOPE,
        ORGANIZATION_ROLES_SCOPE,
    ] {
        assert!(
            scopes.contains(&json!(scope)),
            "scopes_supported lacks {scope}: {doc}"
        );
    }
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(methods.contains(&json!(method)), "{doc}");
    }

    // Logto answers 304 to a matching If-None-Match, and forbids caching the JWKS.
    let etag = reply.header("etag").expect("discovery ETag").to_owned();
    let again = raw::reply(
        raw::agent(raw::DEFAULT_TIMEOUT)
            .get(&provider.discovery_url())
            .header("If-None-Match", &etag)
            .call(),
    )
    .unwrap();
    assert_eq!(again.status, 304);
    let jwks = raw::get(&provider.jwks_uri());
    assert_eq!(
        jwks.header("cache-control"),
        Some("no-cache, max-age=0, must-revalidate")
    );
    let keys = jwks.ok_json()["keys"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-384");
    assert!(keys[0].get("d").is_none(), "private key material published");
}

#[test]
fn confidential_client_code_flow_with_basic_auth() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let request = full_request(&client, &provider);
    let callback = sign_in(&provider, &request, "alice");

    // The redirect back: code, state, and RFC 9207 iss.
    assert!(callback.starts_with(provider.redirect_uri()), "{callback}");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(provider.issuer())
    );

    let tokens = exchange(&provider, &client, &request, &callback).ok_json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    // No default API resource: the code exchange gives an opaque token for userinfo.
    assert!(!is_jwt(str_of(&tokens, "access_token")), "{tokens}");

    let (header, claims) = decode_jwt(str_of(&tokens, "id_token"));
    assert_eq!(header["alg"], "ES384");
    assert_eq!(
        provider.published_kids(),
        vec![header["kid"].as_str().unwrap().to_owned()]
    );
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], client.client_id);
    assert_eq!(claims["sub"], provider.alice().id);
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["phone_number_verified"], true);
    // Logto timestamps are epoch milliseconds.
    assert_eq!(claims["created_at"], 1_700_000_000_000_u64);
    assert_eq!(claims["updated_at"], 1_700_000_500_123_u64);
    // Address keys as Logto stores them (camelCase).
    assert_eq!(claims["address"]["streetAddress"], "1 Main St");
    assert_eq!(claims["address"]["postalCode"], "62701");
    // Extended claims enabled in the ID token by Logto's default tenant config...
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["organizations"], json!([ORG1, ORG2]));
    assert_eq!(
        claims["organization_roles"],
        json!(["org1:admin", "org2:viewer"])
    );
    // ...and the userinfo-only ones.
    for userinfo_only in [
        "custom_data",
        "identities",
        "organization_data",
        "sso_identities",
    ] {
        assert!(
            claims.get(userinfo_only).is_none(),
            "{userinfo_only} in ID token: {claims}"
        );
    }

    let userinfo = raw::get_bearer(
        &provider.userinfo_endpoint(),
        str_of(&tokens, "access_token"),
    )
    .ok_json();
    assert_eq!(userinfo["sub"], provider.alice().id);
    assert_eq!(userinfo["custom_data"]["plan"], "pro");
    assert_eq!(userinfo["identities"]["github"]["userId"], "1234567");
    assert_eq!(
        userinfo["organization_data"],
        json!([
            {"id": "org1", "name": "Organization One", "description": "The first test organization"},
            {"id": "org2", "name": "Organization Two", "description": null},
        ])
    );
    assert_eq!(userinfo["created_at"], 1_700_000_000_000_u64);

    // client_secret_post is accepted from a client registered for Basic, like Logto.
    let refreshed = post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&tokens, "refresh_token")),
        ],
        ClientAuth::Post {
            client_id: &client.client_id,
            client_secret: client.client_secret.as_deref().unwrap(),
        },
    );
    refreshed.expect_status(200);
}

#[test]
fn empty_profile_user_gets_nulls_and_no_extras() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let tokens = tokens_for(&provider, &client, "bob");
    let (_, claims) = decode_jwt(str_of(&tokens, "id_token"));
    assert_eq!(claims["sub"], provider.bob().id);
    assert_eq!(claims["name"], Value::Null);
    assert_eq!(claims["picture"], Value::Null);
    assert_eq!(claims["email"], Value::Null);
    assert_eq!(claims["email_verified"], false);
    assert!(claims.get("given_name").is_none(), "{claims}");
    assert!(claims.get("address").is_none(), "{claims}");
    assert_eq!(claims["roles"], json!([]));
    assert_eq!(claims["organizations"], json!([]));
    let userinfo = raw::get_bearer(
        &provider.userinfo_endpoint(),
        str_of(&tokens, "access_token"),
    )
    .ok_json();
    assert_eq!(userinfo["custom_data"], json!({}));
}

#[test]
fn public_client_refresh_rotates_and_reuse_revokes_the_grant() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    assert!(client.client_secret.is_none());
    let tokens = tokens_for(&provider, &client, "alice");
    let first = str_of(&tokens, "refresh_token").to_owned();

    let reply = refresh(&provider, &client, &first, &[]).ok_json();
    let second = str_of(&reply, "refresh_token").to_owned();
    assert_ne!(
        first, second,
        "a public client's refresh token rotates on every use"
    );
    assert!(reply["id_token"].is_string(), "{reply}");

    // Presenting the consumed token again revokes the whole grant...
    let reused = refresh(&provider, &client, &first, &[]);
    let body = assert_logto_error(&reused, 400, "invalid_grant");
    assert_eq!(body["error_uri"], "https://openid.sh/debug/invalid_grant");
    // ...so the newest refresh token is dead too.
    assert_logto_error(
        &refresh(&provider, &client, &second, &[]),
        400,
        "invalid_grant",
    );
}

#[test]
fn confidential_client_refresh_does_not_rotate_early() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let first = str_of(&tokens, "refresh_token");
    let reply = refresh(&provider, &client, first, &[]).ok_json();
    assert_eq!(
        reply["refresh_token"], first,
        "rotation only after 70% of the TTL"
    );
    // The same token keeps working.
    refresh(&provider, &client, first, &[]).expect_status(200);
}

#[test]
fn id_token_alg_follows_the_configured_key() {
    for alg in ["RS256", "PS256", "ES256"] {
        let provider = Provider::builder().signing_alg(alg).start();
        let doc = raw::get(&provider.discovery_url()).ok_json();
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!([alg]));
        let client = provider.public_client().clone();
        let tokens = tokens_for(&provider, &client, "alice");
        let (header, _) = decode_jwt(str_of(&tokens, "id_token"));
        assert_eq!(header["alg"], alg);
        // Resource tokens are signed with the same key.
        let reply = refresh(
            &provider,
            &client,
            str_of(&tokens, "refresh_token"),
            &[("resource", API_RESOURCE)],
        )
        .ok_json();
        let (header, _) = decode_jwt(str_of(&reply, "access_token"));
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "at+jwt");
    }
}

#[test]
fn resource_tokens_are_jwts_for_the_resource() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let rt = str_of(&tokens, "refresh_token");

    let reply = refresh(&provider, &client, rt, &[("resource", API_RESOURCE)]).ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["aud"], API_RESOURCE);
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["sub"], provider.alice().id);
    assert_eq!(claims["client_id"], client.client_id);
    // read:data from her role, write:data inherited from her org1 role.
    assert_eq!(scopes_of(&claims), ["read:data", "write:data"]);
    assert_eq!(reply["scope"], "read:data write:data");
    assert!(claims.get("organization_id").is_none());

    let reply = refresh(&provider, &client, rt, &[("resource", API2_RESOURCE)]).ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["aud"], API2_RESOURCE);
    assert_eq!(scopes_of(&claims), ["read:reports"]);

    // A JWT for an API resource is not a userinfo token.
    let userinfo = raw::get_bearer(
        &provider.userinfo_endpoint(),
        str_of(&reply, "access_token"),
    );
    assert_eq!(userinfo.status, 401, "{}", userinfo.body);

    // A resource not granted at sign-in.
    let unknown = refresh(
        &provider,
        &client,
        rt,
        &[("resource", "https://unknown.example.com")],
    );
    assert_logto_error(&unknown, 400, "invalid_target");
}

#[test]
fn organization_tokens_like_logto() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let rt = str_of(&tokens, "refresh_token");

    let reply = refresh(&provider, &client, rt, &[("organization_id", ORG1)]).ok_json();
    let (header, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(header["alg"], "ES384");
    assert_eq!(claims["aud"], "urn:logto:organization:org1");
    assert_eq!(claims["sub"], provider.alice().id);
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["client_id"], client.client_id);
    assert_eq!(scopes_of(&claims), ["read:books", "write:books"]);
    assert_eq!(reply["scope"], "read:books write:books");
    assert_eq!(reply["expires_in"], 3600);
    assert!(reply["id_token"].is_string());

    let reply = refresh(&provider, &client, rt, &[("organization_id", ORG2)]).ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["aud"], "urn:logto:organization:org2");
    assert_eq!(scopes_of(&claims), ["read:books"]);

    // Only the requested scopes (must be a subset of the refresh token's).
    let reply = refresh(
        &provider,
        &client,
        rt,
        &[("organization_id", ORG1), ("scope", "read:books")],
    )
    .ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(scopes_of(&claims), ["read:books"]);

    // Not a member: 403 access_denied.
    let denied = refresh(&provider, &client, rt, &[("organization_id", ORG3)]);
    assert_logto_error(&denied, 403, "access_denied");

    // Membership is read at every exchange.
    provider.set_organizations("alice", &[(ORG3, &["viewer"])]);
    let reply = refresh(&provider, &client, rt, &[("organization_id", ORG3)]).ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(scopes_of(&claims), ["read:books"]);
    assert_logto_error(
        &refresh(&provider, &client, rt, &[("organization_id", ORG1)]),
        403,
        "access_denied",
    );
}

#[test]
fn organization_token_for_a_non_member_user_is_denied() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let tokens = tokens_for(&provider, &client, "bob");
    let denied = refresh(
        &provider,
        &client,
        str_of(&tokens, "refresh_token"),
        &[("organization_id", ORG1)],
    );
    let body = assert_logto_error(&denied, 403, "access_denied");
    assert_eq!(
        body["error_description"],
        "user is not a member of the organization"
    );
}

#[test]
fn organization_token_needs_the_organizations_scope() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let request = AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .scopes("email read:data")
        .resource(API_RESOURCE);
    let callback = sign_in(&provider, &request, "alice");
    let tokens = exchange(&provider, &client, &request, &callback).ok_json();
    let reply = refresh(
        &provider,
        &client,
        str_of(&tokens, "refresh_token"),
        &[("organization_id", ORG1)],
    );
    let body = assert_logto_error(&reply, 403, "insufficient_scope");
    assert_eq!(body["scope"], ORGANIZATIONS_SCOPE);
}

#[test]
fn organization_scoped_resource_token_has_organization_id() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let rt = str_of(&tokens, "refresh_token");

    let reply = refresh(
        &provider,
        &client,
        rt,
        &[("organization_id", ORG1), ("resource", API_RESOURCE)],
    )
    .ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["aud"], API_RESOURCE);
    assert_eq!(claims["organization_id"], ORG1);
    assert_eq!(scopes_of(&claims), ["read:data", "write:data"]);

    // In org2 her roles there add nothing for this API: only her own role's scope.
    let reply = refresh(
        &provider,
        &client,
        rt,
        &[("organization_id", ORG2), ("resource", API_RESOURCE)],
    )
    .ok_json();
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["organization_id"], ORG2);
    assert_eq!(scopes_of(&claims), ["read:data"]);
}

#[test]
fn error_bodies_have_logtos_shape() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();

    let reply = refresh(&provider, &client, "not-a-refresh-token", &[]);
    let body = assert_logto_error(&reply, 400, "invalid_grant");
    assert_eq!(body["error_uri"], "https://openid.sh/debug/invalid_grant");
    assert!(body["error_description"].is_string());

    let wrong_secret = post_form(
        &provider.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        ClientAuth::Basic {
            client_id: &client.client_id,
            client_secret: "wrong",
        },
    );
    assert_logto_error(&wrong_secret, 401, "invalid_client");

    let bad_grant = post_form(
        &provider.token_endpoint(),
        &[
            ("grant_type", "password"),
            ("client_id", &provider.public_client().client_id),
        ],
        ClientAuth::None,
    );
    assert_logto_error(&bad_grant, 400, "unsupported_grant_type");

    let userinfo = raw::get_bearer(&provider.userinfo_endpoint(), "bogus");
    assert_logto_error(&userinfo, 401, "invalid_token");
}

#[test]
fn pkce_is_required() {
    let provider = Provider::start();
    let client = provider.confidential_client().clone();
    let mut url = url::Url::parse(
        &AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
            .url(&provider.authorization_endpoint()),
    )
    .unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !key.starts_with("code_challenge"))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let callback = Browser::new().open(url.as_str()).expect_redirect();
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        query_param(&callback, "error_description")
            .unwrap()
            .contains("PKCE"),
        "{callback}"
    );
}

#[test]
fn fault_injection_then_recovery() {
    let provider = Provider::builder().hang_ms(60_000).start();
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let rt = str_of(&tokens, "refresh_token");
    provider.reset_requests();

    provider.fail_next_token_responses(FaultMode::ServerError, 1);
    let failed = refresh(&provider, &client, rt, &[]);
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["error"], "server_error");
    refresh(&provider, &client, rt, &[]).expect_status(200);

    provider.fail_next_token_responses(FaultMode::Malformed, 1);
    let malformed = refresh(&provider, &client, rt, &[]);
    assert_eq!(malformed.status, 200);
    assert!(serde_json::from_str::<Value>(&malformed.body).is_err());

    provider.fail_next_token_responses(FaultMode::Status(503), 2);
    assert_eq!(refresh(&provider, &client, rt, &[]).status, 503);
    assert_eq!(refresh(&provider, &client, rt, &[]).status, 503);

    // A hang outlives the client's timeout; the provider then answers normally again.
    provider.fail_next_token_responses(FaultMode::Hang, 1);
    let agent = raw::agent(Duration::from_millis(500));
    let started = Instant::now();
    let hung = raw::post_form_with(
        &agent,
        &provider.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        client.auth(),
    );
    assert!(hung.is_err(), "expected a timeout, got {hung:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    refresh(&provider, &client, rt, &[]).expect_status(200);

    // Faults can target another path, e.g. the JWKS.
    provider.inject_fault(Fault {
        path: Some("/oidc/jwks".into()),
        ..Fault::token(FaultMode::ServerError, 1)
    });
    assert_eq!(raw::get(&provider.jwks_uri()).status, 500);
    assert_eq!(raw::get(&provider.jwks_uri()).status, 200);

    // The request log saw all of it.
    assert_eq!(provider.refresh_count(), 7);
    let requests = provider.requests();
    let faults: Vec<_> = requests.iter().filter_map(|r| r.fault.clone()).collect();
    assert_eq!(
        faults,
        ["500", "malformed", "status", "status", "hang", "500"]
    );
    let first = &requests[0];
    assert_eq!(first.path, "/oidc/token");
    assert_eq!(first.grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(first.status, Some(500));
    provider.reset_requests();
    assert_eq!(provider.refresh_count(), 0);
}

#[test]
fn key_rotation_to_rs256_keeps_the_old_key_published() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let before = tokens_for(&provider, &client, "alice");
    let (old_header, _) = decode_jwt(str_of(&before, "id_token"));
    let old_kid = old_header["kid"].as_str().unwrap().to_owned();

    let rotated = provider.rotate_key("RS256");
    assert_eq!(rotated.alg, "RS256");
    assert_eq!(provider.signing_alg(), "RS256");
    assert_eq!(
        provider.published_kids(),
        vec![rotated.kid.clone(), old_kid.clone()]
    );
    let doc = raw::get(&provider.discovery_url()).ok_json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    // The session's refresh token survives the rotation; new tokens use the new key.
    let reply = refresh(&provider, &client, str_of(&before, "refresh_token"), &[]).ok_json();
    let (header, _) = decode_jwt(str_of(&reply, "id_token"));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], rotated.kid);

    // Staged and retiring rotations.
    let staged = provider.stage_key("ES384");
    assert_eq!(
        provider.published_kids(),
        vec![rotated.kid.clone(), old_kid, staged.kid.clone()]
    );
    let retired = provider.rotate_key_retiring_previous("ES384");
    assert_eq!(provider.published_kids(), vec![retired.kid]);
}

#[test]
fn cancel_gives_access_denied() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let request = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    let callback = provider.cancel_sign_in(&request.url(&provider.authorization_endpoint()));
    assert!(callback.starts_with(provider.redirect_uri()), "{callback}");
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(provider.issuer())
    );
    assert!(query_param(&callback, "code").is_none());
}

#[test]
fn sign_in_page_shows_the_requested_screen_and_rejects_wrong_passwords() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let browser = Browser::new();

    let sign_up = AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .param("interaction_mode", "signUp")
        .param("login_hint", "alice@example.com")
        .param("ui_locales", "fr-CA");
    let page = browser
        .open(&sign_up.url(&provider.authorization_endpoint()))
        .expect_sign_in_page();
    assert_eq!(page.first_screen().as_deref(), Some("register"));
    assert_eq!(page_path(&page), "/register");
    assert_eq!(page.data("interaction-mode").as_deref(), Some("signUp"));
    assert_eq!(
        page.data("login-hint").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(page.data("ui-locales").as_deref(), Some("fr-CA"));
    assert_eq!(
        page.data("client-id").as_deref(),
        Some(client.client_id.as_str())
    );

    // A wrong password shows the form again with an error; the right one (by email) works.
    let retry = browser
        .submit_sign_in(&page, "alice@example.com", "wrong")
        .expect_sign_in_page();
    assert_eq!(retry.status, 401);
    assert!(retry.error().is_some());
    let callback = browser
        .submit_sign_in(&retry, "alice@example.com", &provider.alice().password)
        .expect_redirect();
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    // The other Logto parameters are accepted too.
    let first_screen = AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .param("first_screen", "identifier:register")
        .param("identifier", "email phone")
        .param("direct_sign_in", "social:google")
        .param("organization_id", ORG1)
        .prompt(Some("login"));
    let page = Browser::new()
        .open(&first_screen.url(&provider.authorization_endpoint()))
        .expect_sign_in_page();
    assert_eq!(page.first_screen().as_deref(), Some("identifier:register"));
    assert_eq!(page.data("identifier").as_deref(), Some("email phone"));
    assert_eq!(page.data("organization-id").as_deref(), Some(ORG1));

    // Like Logto, each first screen opens its own page.
    for (first_screen, path) in [
        ("sign_in", "/sign-in"),
        ("register", "/register"),
        ("reset_password", "/forgot-password"),
        ("identifier:sign_in", "/identifier-sign-in"),
        ("identifier:register", "/identifier-register"),
        ("single_sign_on", "/single-sign-on"),
    ] {
        let request = AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
            .param("first_screen", first_screen);
        let page = Browser::new()
            .open(&request.url(&provider.authorization_endpoint()))
            .expect_sign_in_page();
        assert_eq!(page_path(&page), path, "{first_screen}");
    }
    let plain = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    let page = Browser::new()
        .open(&plain.url(&provider.authorization_endpoint()))
        .expect_sign_in_page();
    assert_eq!(page_path(&page), "/sign-in");
}

/// The experience page's path without its interaction id: `/register` of `/register/<uid>`.
fn page_path(page: &logto_integration::SignInPage) -> String {
    let path = url::Url::parse(&page.url).unwrap().path().to_owned();
    path.rsplit_once('/').unwrap().0.to_owned()
}

#[test]
fn a_second_sign_in_reuses_the_session() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let browser = Browser::new();
    let alice = provider.alice();
    let first = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    browser.sign_in(
        &first.url(&provider.authorization_endpoint()),
        &alice.username,
        &alice.password,
    );

    let second = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    match browser.open(&second.url(&provider.authorization_endpoint())) {
        Landing::Redirected { url } => assert!(query_param(&url, "code").is_some(), "{url}"),
        other => panic!("expected a silent sign-in, got {other:?}"),
    }
}

#[test]
fn prompt_login_alone_gives_no_refresh_token() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let request =
        AuthorizationRequest::new(&client.client_id, provider.redirect_uri()).prompt(Some("login"));
    let callback = sign_in(&provider, &request, "alice");
    let tokens = exchange(&provider, &client, &request, &callback).ok_json();
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert!(
        !str_of(&tokens, "scope").contains("offline_access"),
        "{tokens}"
    );

    let both = AuthorizationRequest::new(&client.client_id, provider.redirect_uri())
        .prompt(Some("login consent"));
    let callback = sign_in(&provider, &both, "alice");
    let tokens = exchange(&provider, &client, &both, &callback).ok_json();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

#[test]
fn revoking_the_refresh_token_ends_the_grant() {
    let provider = Provider::start();
    for client in [
        provider.confidential_client().clone(),
        provider.public_client().clone(),
    ] {
        let tokens = tokens_for(&provider, &client, "alice");
        let rt = str_of(&tokens, "refresh_token");
        let revoked = post_form(
            &provider.revocation_endpoint(),
            &[("token", rt), ("client_id", &client.client_id)],
            client.auth(),
        );
        revoked.expect_status(200);
        assert_eq!(revoked.body, "");
        assert_logto_error(&refresh(&provider, &client, rt, &[]), 400, "invalid_grant");
        // The access tokens of the grant went with it.
        let userinfo = raw::get_bearer(
            &provider.userinfo_endpoint(),
            str_of(&tokens, "access_token"),
        );
        assert_eq!(userinfo.status, 401, "{}", userinfo.body);
    }

    // Revocation needs the confidential client's authentication.
    let client = provider.confidential_client().clone();
    let tokens = tokens_for(&provider, &client, "alice");
    let unauthenticated = post_form(
        &provider.revocation_endpoint(),
        &[
            ("token", str_of(&tokens, "refresh_token")),
            ("client_id", &client.client_id),
        ],
        ClientAuth::None,
    );
    assert_logto_error(&unauthenticated, 401, "invalid_client");
}

#[test]
fn end_session_redirects_and_signs_out() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    let browser = Browser::new();
    let alice = provider.alice();
    let request = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    let callback = browser.sign_in(
        &request.url(&provider.authorization_endpoint()),
        &alice.username,
        &alice.password,
    );
    let tokens = exchange(&provider, &client, &request, &callback).ok_json();

    let mut end_session = url::Url::parse(&provider.end_session_endpoint()).unwrap();
    end_session
        .query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair(
            "post_logout_redirect_uri",
            provider.post_logout_redirect_uri(),
        )
        .append_pair("state", "bye")
        .append_pair("id_token_hint", str_of(&tokens, "id_token"));
    let landing = browser.end_session(end_session.as_str()).expect_redirect();
    assert!(
        landing.starts_with(provider.post_logout_redirect_uri()),
        "{landing}"
    );
    assert_eq!(query_param(&landing, "state").as_deref(), Some("bye"));

    // The session is gone: the next authorization shows the form again.
    let again = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
    browser
        .open(&again.url(&provider.authorization_endpoint()))
        .expect_sign_in_page();
    // The offline grant is not revoked by the end-session call.
    refresh(&provider, &client, str_of(&tokens, "refresh_token"), &[]).expect_status(200);

    // Without client_id / id_token_hint, the provider's own signed-out page.
    match browser.end_session(&provider.end_session_endpoint()) {
        Landing::Page { status, url, .. } => {
            assert_eq!(status, 200);
            assert!(url.contains("/oidc/session/end"), "{url}");
        }
        other => panic!("expected the signed-out page, got {other:?}"),
    }
}

#[test]
fn clock_offset_shifts_token_times() {
    let provider = Provider::start();
    let client = provider.public_client().clone();
    provider.set_clock_offset(-7200);
    let tokens = tokens_for(&provider, &client, "alice");
    let (_, claims) = decode_jwt(str_of(&tokens, "id_token"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - (now - 7200)).abs() < 60, "iat {iat}, now {now}");
    // Issued two hours "ago" with a one-hour TTL: already expired by real clocks.
    assert!(claims["exp"].as_i64().unwrap() < now);

    // Organization tokens for a public client, whose refresh token rotates meanwhile.
    provider.set_clock_offset(0);
    let reply = refresh(
        &provider,
        &client,
        str_of(&tokens, "refresh_token"),
        &[("organization_id", ORG1)],
    )
    .ok_json();
    assert_ne!(reply["refresh_token"], tokens["refresh_token"]);
    let (_, claims) = decode_jwt(str_of(&reply, "access_token"));
    assert_eq!(claims["aud"], "urn:logto:organization:org1");
    assert!((claims["iat"].as_i64().unwrap() - now).abs() < 60);
}
