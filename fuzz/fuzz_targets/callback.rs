#![no_main]
//! A session with a pending sign-in (fixed entropy, metadata of a fixed discovery document in
//! the cache) handles the fuzz input as the callback URL, driven one `step`. It must give an
//! error or a `Send` of the token request; a `Send` requires the callback to carry exactly one
//! `state`, equal to the pending one, and the right redirect target. A rejected callback leaves
//! the snapshot untouched.
use libfuzzer_sys::fuzz_target;
use logto_proto::adapter::*;
use logto_proto::{Config, SignInOptions, UnixTime};
use logto_proto_fuzz::*;
use std::sync::OnceLock;

struct Fixture {
    config: Config,
    cache: ProviderCache,
    snapshot: Snapshot,
    state: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let config = local_config();
        let cache = local_cache(&config);
        let mut snapshot = Snapshot::new();
        let url = sign_in_url(
            &config,
            cache.metadata.as_ref().unwrap(),
            &mut snapshot,
            &SignInOptions::new(REDIRECT_URI),
            &fixed_entropy(),
            UnixTime::from_secs(T0),
        )
        .expect("sign-in url");
        let state = state_params(&url).unwrap().pop().unwrap();
        assert_eq!(state, logto_proto_fuzz::example::STATE);
        Fixture {
            config,
            cache,
            snapshot,
            state,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let callback = String::from_utf8_lossy(data).into_owned();
    let mut cache = f.cache.clone();
    let mut snapshot = f.snapshot.clone();
    let now = UnixTime::from_secs(T0 + 5);
    let mut op = Context::new(&f.config, &mut cache, &mut snapshot)
        .handle_sign_in_callback(callback.clone());
    match op.step(now) {
        Ok(Step::Send(request)) => {
            assert_eq!(request.method, Method::Post);
            assert_eq!(request.url, "http://127.0.0.1:3001/oidc/token");
            let states = state_params(&callback).expect("accepted callback must be a URL");
            assert_eq!(
                states,
                vec![f.state.clone()],
                "callback accepted without the exact state: {callback:?}"
            );
            let u = url::Url::parse(&callback).unwrap();
            assert_eq!(u.host_str(), Some("127.0.0.1"));
            assert_eq!(u.port_or_known_default(), Some(3000));
            assert_eq!(u.path(), "/callback");
            let iss: Vec<_> = u
                .query_pairs()
                .filter(|(k, _)| k == "iss")
                .map(|(_, v)| v.into_owned())
                .collect();
            assert_eq!(
                iss,
                vec![LOCAL_ISSUER.to_owned()],
                "iss not checked: {callback:?}"
            );
            assert!(!u.query_pairs().any(|(k, _)| k == "error"));
            drop(op);
            assert!(snapshot.pending_sign_in().is_some());
            assert!(!snapshot.is_authenticated());
        }
        Ok(Step::Done(claims)) => panic!("callback done without a token request: {claims:?}"),
        Ok(other) => panic!("an operation on values asked for {other:?}"),
        Err(_) => {
            drop(op);
            assert!(
                snapshot == f.snapshot,
                "a rejected callback changed the snapshot"
            );
        }
    }
});
