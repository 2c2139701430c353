//! Compact JWS: splitting, base64url, header and payload decoding. No signature work here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use std::borrow::Cow;

/// Tokens larger than this are refused before any decoding (Logto's are about 1 KB).
pub(crate) const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The three parts of a compact JWS.
pub(crate) struct CompactJws<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
}

/// Splits `a.b.c`; anything else is not a compact JWS.
pub(crate) fn split(token: &str) -> Result<CompactJws<'_>, &'static str> {
    if token.len() > MAX_TOKEN_LEN {
        return Err("token too long");
    }
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not three dot-separated parts");
    };
    if header.is_empty() || payload.is_empty() {
        return Err("empty header or payload");
    }
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or("not three dot-separated parts")?;
    Ok(CompactJws {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// base64url without padding, as JWS requires; non-canonical trailing bits are refused.
///
/// Decoding uses base64-simd: it is on the verification hot path (a Logto ID token is about
/// 1.2 KB of base64url), where it measured 3.7x faster than the `base64` crate's engine
/// (0.12 vs 0.44 µs for the payload). Encoding, on cold paths only, stays with `base64`.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, &'static str> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(s)
        .map_err(|_| "invalid base64url")
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JOSE header fields the verifier reads, borrowed from the decoded header bytes.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub alg: Cow<'a, str>,
    #[serde(default, borrow)]
    pub kid: Option<Cow<'a, str>>,
    /// The token type (`logout+jwt`, `at+jwt`, `JWT`), when the issuer declares it.
    #[serde(default, borrow)]
    pub typ: Option<Cow<'a, str>>,
    /// Only its presence matters: no critical extension is understood.
    #[serde(default)]
    pub crit: Option<IgnoredAny>,
}

/// Decodes the header's base64url into `buf`; the [`Header`] borrows from it.
pub(crate) fn decode_header<'b>(
    jws: &CompactJws<'_>,
    buf: &'b mut Vec<u8>,
) -> Result<Header<'b>, String> {
    *buf = b64_decode(jws.header).map_err(|e| format!("header: {e}"))?;
    serde_json::from_slice(buf).map_err(|e| format!("header: {}", crate::error::json_reason(&e)))
}

/// Decodes the payload of a JWT without verifying anything.
pub(crate) fn decode_payload<T: DeserializeOwned>(token: &str) -> Result<T, PayloadError> {
    let jws = split(token).map_err(|_| PayloadError::NotAJwt)?;
    decode_payload_part(jws.payload)
}

/// Decodes the base64url payload part of a split JWT.
pub(crate) fn decode_payload_part<T: DeserializeOwned>(payload: &str) -> Result<T, PayloadError> {
    let bytes = b64_decode(payload).map_err(|_| PayloadError::NotAJwt)?;
    // A JWT payload is a JSON object; anything else means the token is opaque.
    if bytes.first() != Some(&b'{') {
        return Err(PayloadError::NotAJwt);
    }
    // One UTF-8 check of the whole payload, after which serde_json reads strings without
    // checking each one again (about a tenth of the decoding work for a Logto ID token).
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| PayloadError::Invalid(format!("payload is not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| PayloadError::Invalid(crate::error::json_reason(&e)))
}

pub(crate) enum PayloadError {
    NotAJwt,
    Invalid(String),
}

impl From<PayloadError> for crate::error::ClaimsError {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::NotAJwt => crate::error::ClaimsError::NotAJwt,
            PayloadError::Invalid(reason) => crate::error::ClaimsError::Invalid { reason },
        }
    }
}
