//! The `aws-lc` backend: aws-lc-rs, with keys parsed once.

use super::{ec_point, strip_leading_zeros, Algorithm, Curve, SignatureError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};

/// A key ready to verify.
#[derive(Clone)]
pub(crate) enum VerifyingKey {
    Ec {
        alg: Algorithm,
        key: ParsedPublicKey,
    },
    Rsa {
        pkcs1: ParsedPublicKey,
        pss: ParsedPublicKey,
    },
    Ed25519(ParsedPublicKey),
}

impl VerifyingKey {
    pub(crate) fn ec(curve: Curve, x: &[u8], y: &[u8]) -> Option<Self> {
        let point = ec_point(curve, x, y)?;
        let alg: &'static dyn signature::VerificationAlgorithm = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        };
        let key = ParsedPublicKey::new(alg, point).ok()?;
        Some(VerifyingKey::Ec {
            alg: curve.algorithm(),
            key,
        })
    }

    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Option<Self> {
        let components = RsaPublicKeyComponents {
            n: strip_leading_zeros(n)?,
            e: strip_leading_zeros(e)?,
        };
        let der = components.as_der().ok()?;
        let pkcs1 =
            ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der.as_ref()).ok()?;
        let pss = ParsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, der.as_ref()).ok()?;
        Some(VerifyingKey::Rsa { pkcs1, pss })
    }

    pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
        ParsedPublicKey::new(&signature::ED25519, x)
            .ok()
            .map(VerifyingKey::Ed25519)
    }

    /// Checks `signature` over `signing_input` (`token` is the whole JWS, unused here).
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        _token: &str,
        signing_input: &[u8],
        sig: &[u8],
    ) -> Result<(), SignatureError> {
        let key = match (self, alg) {
            (VerifyingKey::Ec { alg: key_alg, key }, alg) if *key_alg == alg => key,
            (VerifyingKey::Rsa { pkcs1, .. }, Algorithm::RS256) => pkcs1,
            (VerifyingKey::Rsa { pss, .. }, Algorithm::PS256) => pss,
            (VerifyingKey::Ed25519(key), Algorithm::EdDSA) => key,
            _ => return Err(SignatureError::KeyMismatch),
        };
        key.verify_sig(signing_input, sig)
            .map_err(|_| SignatureError::Invalid)
    }
}
