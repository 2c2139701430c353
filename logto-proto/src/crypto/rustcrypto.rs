//! The `rustcrypto` backend: jwt-simple's pure-Rust keys (no C compiler needed).
//!
//! jwt-simple verifies whole tokens; every claim check it would make is switched off here
//! (time pinned to zero with no tolerance, future tokens accepted), so it checks the
//! signature only and the core's own claim checks decide the rest. ES512 has no key type in
//! jwt-simple, so P-521 keys verify nothing in this backend.

use super::{ec_point, strip_leading_zeros, Algorithm, Curve, SignatureError};
use jwt_simple::prelude::*;

/// A key ready to verify.
#[derive(Clone)]
pub(crate) enum VerifyingKey {
    Es256(ES256PublicKey),
    Es384(ES384PublicKey),
    Rsa {
        pkcs1: Box<RS256PublicKey>,
        pss: Box<PS256PublicKey>,
    },
    Ed25519(Ed25519PublicKey),
    Unsupported,
}

fn options() -> VerificationOptions {
    VerificationOptions {
        accept_future: true,
        time_tolerance: Some(Duration::from_secs(0)),
        artificial_time: Some(UnixTimeStamp::from_secs(0)),
        max_token_length: None,
        max_header_length: None,
        ..VerificationOptions::default()
    }
}

impl VerifyingKey {
    pub(crate) fn ec(curve: Curve, x: &[u8], y: &[u8]) -> Option<Self> {
        let point = ec_point(curve, x, y)?;
        match curve {
            Curve::P256 => ES256PublicKey::from_bytes(&point)
                .ok()
                .map(VerifyingKey::Es256),
            Curve::P384 => ES384PublicKey::from_bytes(&point)
                .ok()
                .map(VerifyingKey::Es384),
            Curve::P521 => Some(VerifyingKey::Unsupported),
        }
    }

    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Option<Self> {
        let n = strip_leading_zeros(n)?;
        let e = strip_leading_zeros(e)?;
        let pkcs1 = RS256PublicKey::from_components(n, e).ok()?;
        let pss = PS256PublicKey::from_components(n, e).ok()?;
        Some(VerifyingKey::Rsa {
            pkcs1: Box::new(pkcs1),
            pss: Box::new(pss),
        })
    }

    pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
        Ed25519PublicKey::from_bytes(x)
            .ok()
            .map(VerifyingKey::Ed25519)
    }

    /// Checks the signature of `token` (`signing_input` and `sig` are its parts).
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        token: &str,
        _signing_input: &[u8],
        _sig: &[u8],
    ) -> Result<(), SignatureError> {
        let result = match (self, alg) {
            (VerifyingKey::Es256(k), Algorithm::ES256) => {
                k.verify_token::<NoCustomClaims>(token, Some(options()))
            }
            (VerifyingKey::Es384(k), Algorithm::ES384) => {
                k.verify_token::<NoCustomClaims>(token, Some(options()))
            }
            (VerifyingKey::Rsa { pkcs1, .. }, Algorithm::RS256) => {
                pkcs1.verify_token::<NoCustomClaims>(token, Some(options()))
            }
            (VerifyingKey::Rsa { pss, .. }, Algorithm::PS256) => {
                pss.verify_token::<NoCustomClaims>(token, Some(options()))
            }
            (VerifyingKey::Ed25519(k), Algorithm::EdDSA) => {
                k.verify_token::<NoCustomClaims>(token, Some(options()))
            }
            _ => return Err(SignatureError::KeyMismatch),
        };
        result.map(|_| ()).map_err(|_| SignatureError::Invalid)
    }
}
