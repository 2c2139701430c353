//! The one internal verifier interface, with a backend chosen by cargo feature:
//! `aws-lc` (default, aws-lc-rs) or `rustcrypto` (jwt-simple's pure-Rust crates).
//!
//! A key is prepared once, when its JWKS is stored; verifying is then one call.

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(feature = "aws-lc")]
pub(crate) use aws_lc::VerifyingKey;

#[cfg(all(feature = "rustcrypto", not(feature = "aws-lc")))]
mod rustcrypto;
#[cfg(all(feature = "rustcrypto", not(feature = "aws-lc")))]
pub(crate) use rustcrypto::VerifyingKey;

#[cfg(not(any(feature = "aws-lc", feature = "rustcrypto")))]
compile_error!(
    "logto-proto needs a crypto backend: enable the `aws-lc` or `rustcrypto` feature (of \
     logto-proto, or of the logto crate depended on with default features off)"
);

/// Which backend this build verifies with.
pub const BACKEND: &str = if cfg!(feature = "aws-lc") {
    "aws-lc"
} else {
    "rustcrypto"
};

/// The JWS algorithms ID tokens may use. `none` and the HMAC family are never accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384: Logto's default.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Parses a header `alg`; `None` for anything outside the allow-list.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Some(match name {
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "ES512" => Algorithm::ES512,
            "EdDSA" => Algorithm::EdDSA,
            _ => return None,
        })
    }

    /// The `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }
}

/// An elliptic curve of an `EC` JWK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub(crate) fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    /// Bytes per coordinate.
    pub(crate) const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    #[cfg_attr(not(feature = "aws-lc"), allow(dead_code))]
    pub(crate) const fn algorithm(self) -> Algorithm {
        match self {
            Curve::P256 => Algorithm::ES256,
            Curve::P384 => Algorithm::ES384,
            Curve::P521 => Algorithm::ES512,
        }
    }
}

/// Why a signature check failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// The key cannot verify this algorithm (wrong type, or not in this backend).
    KeyMismatch,
    /// The signature is wrong.
    Invalid,
}

/// The uncompressed SEC1 point `04 || x || y`, after checking the coordinate lengths.
pub(crate) fn ec_point(curve: Curve, x: &[u8], y: &[u8]) -> Option<Vec<u8>> {
    let n = curve.coordinate_len();
    if x.len() != n || y.len() != n {
        return None;
    }
    let mut point = Vec::with_capacity(1 + 2 * n);
    point.push(4);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    Some(point)
}

/// An RSA integer without leading zero bytes; `None` if nothing is left.
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> Option<&[u8]> {
    let start = bytes.iter().position(|&b| b != 0)?;
    bytes.get(start..)
}
