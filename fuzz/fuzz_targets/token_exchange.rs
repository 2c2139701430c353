#![no_main]
//! A token exchange answered with the fuzzer's status (first two bytes, big endian) and body.
//! Never panics; a 2xx gives a token for the asked target or a typed error; an
//! `invalid_grant` or `unauthorized_client` refusal is a `TokenExchange` error; no error,
//! `Debug` or `Display` shows the subject or actor token.
use libfuzzer_sys::fuzz_target;
use logto_proto::{adapter::*, errors::*};
use logto_proto::{decode_claims, AccessTokenClaims, Error, TokenExchange, UnixTime};
use logto_proto_fuzz::*;

const SUBJECT: &str = "fuzz-subject-token-7f3a";
const ACTOR: &str = "fuzz-actor-token-91bc";

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let body = &data[2..];
    let config = local_config();
    let mut cache = local_cache(&config);
    let mut snapshot = Snapshot::new();
    let exchange = TokenExchange::personal_access_token(SUBJECT)
        .actor(ACTOR)
        .resource("https://api.example.com");
    let target = exchange.target().clone();
    let now = UnixTime::from_secs(T0);
    let mut op = Context::new(&config, &mut cache, &mut snapshot).exchange_token(exchange);
    let Ok(Step::Send(_)) = op.step(now) else {
        panic!("the token request")
    };
    let secret_free =
        |text: String| assert!(!text.contains(SUBJECT) && !text.contains(ACTOR), "{text}");
    secret_free(format!("{op:?}"));
    let outcome = match op.handle_response(HttpResponse::new(status, body.to_vec()), now) {
        Ok(()) => match op.step(now) {
            Ok(Step::Done(token)) => Ok(token),
            Ok(_) => panic!("a step after the answer"),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(token) => {
            assert!((200..300).contains(&status));
            assert_eq!(token.target, target);
            assert!(!token.token.expose().is_empty());
            let _ = decode_claims::<AccessTokenClaims>(token.token.expose());
        }
        Err(e) => {
            secret_free(format!("{e:?} {e}"));
            assert!(!matches!(e, Error::Usage(_)), "{e:?}");
            let refused = ProviderError::from_response(status, body);
            if !(200..300).contains(&status)
                && (refused.is("invalid_grant") || refused.is("unauthorized_client"))
            {
                assert!(matches!(e, Error::TokenExchange(_)), "{e:?}");
            }
        }
    }
});
