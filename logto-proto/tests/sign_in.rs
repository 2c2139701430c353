//! Flow 3: the sign-in URL (golden output, options, reserved parameters) and the scope and
//! resource composition properties.

mod support;

use logto_proto::internals::*;
use logto_proto::{adapter::*, errors::*, scopes::*};
use logto_proto::{
    Config, DirectSignIn, Error, FirstScreen, Identifier, InteractionMode, Prompt, SignInOptions,
    UnixTime,
};
use proptest::prelude::*;
use support::*;

fn metadata() -> ProviderMetadata {
    ProviderMetadata::parse(
        &config(),
        discovery().to_string().as_bytes(),
        UnixTime::from_secs(T0),
    )
    .unwrap()
}

const ENTROPY: [u8; 96] = [7; 96];

/// Each `first_screen` value Logto accepts, with the page it opens: the golden URL tail.
#[test]
fn golden_sign_in_urls_for_every_first_screen() {
    let expected = [
        (FirstScreen::SignIn, "first_screen=sign_in"),
        (FirstScreen::Register, "first_screen=register"),
        (FirstScreen::ResetPassword, "first_screen=reset_password"),
        (
            FirstScreen::IdentifierSignIn,
            "first_screen=identifier%3Asign_in",
        ),
        (
            FirstScreen::IdentifierRegister,
            "first_screen=identifier%3Aregister",
        ),
        (FirstScreen::SingleSignOn, "first_screen=single_sign_on"),
    ];
    assert_eq!(expected.map(|(screen, _)| screen), FirstScreen::ALL);
    for (screen, tail) in expected {
        let mut snapshot = Snapshot::new();
        let options = SignInOptions::new(REDIRECT_URI).first_screen(screen);
        let url = sign_in_url(
            &config(),
            &metadata(),
            &mut snapshot,
            &options,
            &SignInEntropy::from_bytes(ENTROPY),
            UnixTime::from_secs(T0),
        )
        .unwrap();
        assert_eq!(
            url,
            format!(
                "https://tenant.logto.app/oidc/auth?client_id=app-id\
                 &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
                 &response_type=code\
                 &scope=openid+offline_access+profile+email+urn%3Alogto%3Ascope%3Aorganizations\
                 &prompt=consent\
                 &code_challenge=3Ev4DHdHPRMPoN6GukAY_pi7IUAF5qWJHRK6kURvnoE\
                 &code_challenge_method=S256\
                 &state=BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\
                 &nonce=BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\
                 &resource=https%3A%2F%2Fapi.example.com\
                 &resource=urn%3Alogto%3Aresource%3Aorganizations\
                 &{tail}"
            ),
            "{screen:?}"
        );
    }
}

#[test]
fn golden_sign_in_url_with_every_parameter() {
    let mut snapshot = Snapshot::new();
    let options = SignInOptions::new("https://app.example.com/callback?from=a&b=c")
        .prompt([Prompt::Login, Prompt::Consent])
        .interaction_mode(InteractionMode::SignUp)
        .first_screen(FirstScreen::Register)
        .identifiers([Identifier::Email, Identifier::Username])
        .direct_sign_in(DirectSignIn::Social("google".into()))
        .login_hint("alice@example.com")
        .ui_locales("fr-CA fr")
        .organization_id("org1")
        .extra_param("one_time_token", "ott");
    let url = sign_in_url(
        &config(),
        &metadata(),
        &mut snapshot,
        &options,
        &SignInEntropy::from_bytes(ENTROPY),
        UnixTime::from_secs(T0),
    )
    .unwrap();
    assert_eq!(
        url,
        "https://tenant.logto.app/oidc/auth?client_id=app-id\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%3Ffrom%3Da%26b%3Dc\
         &response_type=code\
         &scope=openid+offline_access+profile+email+urn%3Alogto%3Ascope%3Aorganizations\
         &prompt=login+consent\
         &code_challenge=3Ev4DHdHPRMPoN6GukAY_pi7IUAF5qWJHRK6kURvnoE\
         &code_challenge_method=S256\
         &state=BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\
         &nonce=BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\
         &resource=https%3A%2F%2Fapi.example.com\
         &resource=urn%3Alogto%3Aresource%3Aorganizations\
         &interaction_mode=signUp&first_screen=register\
         &identifier=email+username&direct_sign_in=social%3Agoogle\
         &login_hint=alice%40example.com&ui_locales=fr-CA+fr&organization_id=org1\
         &one_time_token=ott"
    );
    let pending = snapshot.pending_sign_in().unwrap();
    assert_eq!(
        pending.redirect_uri(),
        "https://app.example.com/callback?from=a&b=c"
    );
    assert_eq!(pending.created_at(), UnixTime::from_secs(T0));
}

#[test]
fn default_sign_in_url_for_a_public_client() {
    let config = Config::new("https://tenant.logto.app/", "spa").unwrap();
    let mut snapshot = Snapshot::new();
    let url = sign_in_url(
        &config,
        &metadata(),
        &mut snapshot,
        &SignInOptions::new("io.logto.app://callback"),
        &SignInEntropy::from_bytes([0; 96]),
        UnixTime::from_secs(T0),
    )
    .unwrap();
    assert_eq!(
        url,
        "https://tenant.logto.app/oidc/auth?client_id=spa&redirect_uri=io.logto.app%3A%2F%2Fcallback\
         &response_type=code&scope=openid+offline_access+profile&prompt=consent\
         &code_challenge=DwBzhbb51LfusnSGBa_hqYSgo7-j8BTQnip4TOnlzRo&code_challenge_method=S256\
         &state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
         &nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    );
}

#[test]
fn the_challenge_is_s256_of_the_stored_verifier() {
    let mut snapshot = Snapshot::new();
    let url = sign_in_url(
        &config(),
        &metadata(),
        &mut snapshot,
        &SignInOptions::new(REDIRECT_URI),
        &SignInEntropy::from_bytes([9; 96]),
        UnixTime::from_secs(T0),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&snapshot.to_json()).unwrap();
    let verifier = json["p"]["cv"].as_str().unwrap();
    assert!(verifier.len() >= 43);
    let challenge = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(challenge, code_challenge(verifier));
}

#[test]
fn starting_a_sign_in_clears_the_stored_tokens() {
    let mut h = Harness::signed_in("ES384");
    assert!(h.snapshot.is_authenticated());
    h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    assert!(!h.snapshot.is_authenticated());
    assert!(h.snapshot.refresh_token().is_none());
    assert!(h.snapshot.access_tokens().is_empty());
    assert!(h.snapshot.pending_sign_in().is_some());
}

#[test]
fn extra_params_cannot_override_reserved_ones() {
    for name in RESERVED_PARAMETERS {
        let mut snapshot = Snapshot::new();
        let err = sign_in_url(
            &config(),
            &metadata(),
            &mut snapshot,
            &SignInOptions::new(REDIRECT_URI).extra_param(*name, "evil"),
            &SignInEntropy::from_bytes(ENTROPY),
            UnixTime::from_secs(T0),
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::SignIn(SignInError::ReservedParameter {
                name: name.to_string()
            })
        );
        assert_eq!(
            snapshot,
            Snapshot::new(),
            "a refused sign-in changes nothing"
        );
    }
}

#[test]
fn redirect_uri_must_be_absolute_without_fragment() {
    for bad in ["/callback", "https://app.example.com/cb#frag", "not a url"] {
        let mut snapshot = Snapshot::new();
        let err = sign_in_url(
            &config(),
            &metadata(),
            &mut snapshot,
            &SignInOptions::new(bad),
            &SignInEntropy::from_bytes(ENTROPY),
            UnixTime::from_secs(T0),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::SignIn(SignInError::InvalidRedirectUri { .. })),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn sign_in_operation_discovers_once_then_reuses_the_cache() {
    let mut h = Harness::new("ES384");
    h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    let discoveries = h
        .provider
        .requests
        .iter()
        .filter(|r| r.url.ends_with("openid-configuration"))
        .count();
    assert_eq!(discoveries, 1);
    // After the TTL it is fetched again.
    h.provider.now += h.config.metadata_ttl();
    h.sign_in_url(SignInOptions::new(REDIRECT_URI));
    let discoveries = h
        .provider
        .requests
        .iter()
        .filter(|r| r.url.ends_with("openid-configuration"))
        .count();
    assert_eq!(discoveries, 2);
}

fn scope_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("openid".to_string()),
        Just("offline_access".to_string()),
        Just("profile".to_string()),
        Just("email".to_string()),
        Just("urn:logto:scope:organizations".to_string()),
        "[a-z:_]{1,12}",
    ]
}

proptest! {
    #[test]
    fn scope_composition(user in proptest::collection::vec(scope_strategy(), 0..12), reserved in any::<bool>()) {
        let scopes = compose_scopes(&user, reserved);
        // No duplicates.
        let mut seen = std::collections::HashSet::new();
        prop_assert!(scopes.iter().all(|s| seen.insert(s.clone())));
        // Reserved scopes first and exactly once.
        if reserved {
            prop_assert_eq!(&scopes[..3], &["openid", "offline_access", "profile"]);
        }
        // User scopes preserved in order of first appearance.
        let mut expected: Vec<String> = Vec::new();
        for s in &user {
            let reserved_one = reserved && ["openid", "offline_access", "profile"].contains(&s.as_str());
            if !expected.contains(s) && !reserved_one {
                expected.push(s.clone());
            }
        }
        let rest: Vec<String> = scopes.iter().skip(if reserved { 3 } else { 0 }).cloned().collect();
        prop_assert_eq!(rest, expected);
        // Organizations scope ⇒ organizations resource, exactly once.
        let resources = compose_resources(&["https://api".to_string(), ORGANIZATIONS_RESOURCE.to_string()], &scopes);
        let orgs = resources.iter().filter(|r| *r == ORGANIZATIONS_RESOURCE).count();
        prop_assert_eq!(orgs, 1);
        let resources = compose_resources(&["https://api".to_string()], &scopes);
        prop_assert_eq!(resources.iter().any(|r| r == ORGANIZATIONS_RESOURCE), has_organizations_scope(&scopes));
    }

    #[test]
    fn extra_params_never_override_reserved(name in prop_oneof![proptest::sample::select(RESERVED_PARAMETERS.to_vec()).prop_map(String::from), "[a-z_]{1,10}"], value in ".*") {
        let mut snapshot = Snapshot::new();
        let result = sign_in_url(&config(), &metadata(), &mut snapshot, &SignInOptions::new(REDIRECT_URI).extra_param(name.clone(), value.clone()), &SignInEntropy::from_bytes(ENTROPY), UnixTime::from_secs(T0));
        if RESERVED_PARAMETERS.contains(&name.as_str()) {
            prop_assert!(result.is_err());
        } else {
            let url = result.unwrap();
            let pairs: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
            prop_assert_eq!(pairs.iter().filter(|(k, _)| k == "client_id").count(), 1);
            prop_assert_eq!(pairs.iter().filter(|(k, _)| k == "state").count(), 1);
            prop_assert!(pairs.contains(&(name, value)));
        }
    }

    #[test]
    fn sign_in_url_parses_back_to_its_inputs(
        path in "[a-zA-Z0-9/é?&#=%+ ]{0,20}",
        query in "[a-zA-Z0-9&=?#é ]{0,20}",
        scopes in proptest::collection::vec(scope_strategy(), 0..6),
        resources in proptest::collection::vec("https://[a-z]{1,8}\\.example/[a-z?&=]{0,6}", 0..4),
        hint in "\\PC{0,16}",
        entropy in proptest::collection::vec(any::<u8>(), 96),
    ) {
        let mut redirect = url::Url::parse("https://app.example.com/").unwrap();
        redirect.set_path(&path.replace(['?', '#'], "_"));
        redirect.set_query(Some(&query.replace('#', "_")));
        let redirect = redirect.to_string();
        let config = Config::builder(ENDPOINT, "app-id").scopes(scopes.clone()).resources(resources.clone()).build().unwrap();
        let mut snapshot = Snapshot::new();
        let bytes: [u8; 96] = entropy.try_into().unwrap();
        let url = sign_in_url(&config, &metadata(), &mut snapshot, &SignInOptions::new(redirect.clone()).login_hint(hint.clone()), &SignInEntropy::from_bytes(bytes), UnixTime::from_secs(T0)).unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        prop_assert_eq!(get("redirect_uri"), vec![redirect]);
        prop_assert_eq!(get("login_hint"), vec![hint]);
        prop_assert_eq!(get("scope"), vec![config.scopes().join(" ")]);
        prop_assert_eq!(get("resource"), config.resources().to_vec());
        prop_assert_eq!(get("state"), vec![b64(&bytes[..32])]);
        prop_assert_eq!(get("nonce"), vec![b64(&bytes[64..])]);
        prop_assert_eq!(get("code_challenge"), vec![code_challenge(&b64(&bytes[32..64]))]);
    }
}
