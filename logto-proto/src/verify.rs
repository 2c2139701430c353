//! ID-token verification, following OIDC Core 3.1.3.7 step by step.

use crate::claims::IdTokenClaims;
use crate::crypto::{Algorithm, SignatureError};
use crate::error::IdTokenError;
use crate::jwks::{Jwk, Jwks};
use crate::jwt;
use crate::time::UnixTime;
use std::fmt;

/// What the `nonce` claim must be. `Debug` never shows the nonce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck<'a> {
    /// At sign-in: the nonce must be present and equal.
    Required(&'a str),
    /// On refresh: the nonce may be absent; if present it must equal the session's (if the
    /// session's ID token had one).
    IfPresent(Option<&'a str>),
}

impl fmt::Debug for NonceCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonceCheck::Required(_) => f.write_str("Required(***)"),
            NonceCheck::IfPresent(Some(_)) => f.write_str("IfPresent(Some(***))"),
            NonceCheck::IfPresent(None) => f.write_str("IfPresent(None)"),
        }
    }
}

/// The values an ID token is checked against.
#[derive(Clone, Copy, Debug)]
pub struct IdTokenCheck<'a> {
    /// The discovered issuer.
    pub issuer: &'a str,
    /// The app id.
    pub client_id: &'a str,
    /// The time of the check.
    pub now: UnixTime,
    /// Clock tolerance in seconds for `exp`, `iat`, `nbf`.
    pub clock_tolerance: u64,
    /// The nonce rule.
    pub nonce: NonceCheck<'a>,
    /// On refresh: the session's `sub`, which the new token must repeat.
    pub subject: Option<&'a str>,
    /// On refresh: the session's `auth_time`, which the new token must repeat if it
    /// carries one.
    pub auth_time: Option<UnixTime>,
}

/// Verifies an ID token against a JWKS and returns its claims.
///
/// Checks, in order: the compact form; `alg` from the allow-list (RS256, PS256, ES256,
/// ES384, ES512, EdDSA; never `none` or HS*); the key by `kid`; the signature; then the
/// claims. [`IdTokenError::UnknownKey`] is the one error worth a JWKS refetch.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    check: &IdTokenCheck<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let verified = verify_jws::<IdTokenClaims>(token, jwks)?;
    check_claims(&verified.claims, check)?;
    Ok(verified.claims)
}

/// A JWS whose signature verified: its payload, and the header's `typ`.
pub(crate) struct VerifiedJws<T> {
    pub(crate) claims: T,
    pub(crate) typ: Option<String>,
}

/// The JWS layer every signed token shares (ID tokens, logout tokens): the compact form,
/// `alg` from the allow-list, the key by `kid`, the signature. The payload is typed as `T`
/// but none of its claims is checked here.
pub(crate) fn verify_jws<T: serde::de::DeserializeOwned>(
    token: &str,
    jwks: &Jwks,
) -> Result<VerifiedJws<T>, IdTokenError> {
    let malformed = |reason: &str| IdTokenError::Malformed {
        reason: reason.to_owned(),
    };
    let jws = jwt::split(token).map_err(malformed)?;
    let mut header_bytes = Vec::new();
    let header = jwt::decode_header(&jws, &mut header_bytes).map_err(|r| malformed(&r))?;
    if header.crit.is_some() {
        return Err(malformed("critical header extensions are not supported"));
    }

    // 3.1.3.7 step 7: the alg must be one the client expects. `none` and the HMAC family
    // (keyed with the client secret, step 8) are refused outright.
    let alg =
        Algorithm::from_name(&header.alg).ok_or_else(|| IdTokenError::UnsupportedAlgorithm {
            alg: crate::cut_untrusted(&header.alg),
        })?;

    // The payload is decoded before the signature check so a wrong claim type is reported
    // as such by both backends; nothing in it is trusted until every check below passes.
    let claims: T = jwt::decode_payload_part(jws.payload).map_err(|e| match e {
        jwt::PayloadError::NotAJwt => malformed("payload is not a JSON object"),
        jwt::PayloadError::Invalid(reason) => IdTokenError::InvalidClaims { reason },
    })?;

    // Step 6: validate the signature with the key the header's `kid` names.
    let key = select_key(jwks, header.kid.as_deref())?;
    if key
        .alg
        .as_deref()
        .is_some_and(|declared| declared != alg.name())
    {
        return Err(IdTokenError::KeyMismatch {
            alg: crate::cut_untrusted(&header.alg),
            kid: key.kid.clone(),
        });
    }
    let signature = jwt::b64_decode(jws.signature).map_err(malformed)?;
    key.key
        .verify(alg, token, jws.signing_input.as_bytes(), &signature)
        .map_err(|e| match e {
            SignatureError::KeyMismatch => IdTokenError::KeyMismatch {
                alg: crate::cut_untrusted(&header.alg),
                kid: key.kid.clone(),
            },
            SignatureError::Invalid => IdTokenError::BadSignature,
        })?;
    Ok(VerifiedJws {
        claims,
        typ: header.typ.map(std::borrow::Cow::into_owned),
    })
}

fn select_key<'a>(jwks: &'a Jwks, kid: Option<&str>) -> Result<&'a Jwk, IdTokenError> {
    match kid {
        Some(kid) => jwks.find(kid).ok_or_else(|| IdTokenError::UnknownKey {
            kid: Some(crate::cut_untrusted(kid)),
        }),
        // Without a kid, only a JWKS with a single key is unambiguous.
        None => match jwks.keys() {
            [only] => Ok(only),
            _ => Err(IdTokenError::UnknownKey { kid: None }),
        },
    }
}

fn check_claims(claims: &IdTokenClaims, check: &IdTokenCheck<'_>) -> Result<(), IdTokenError> {
    // Step 2: the issuer must match the discovered issuer exactly.
    if claims.iss != check.issuer {
        return Err(IdTokenError::Issuer {
            expected: check.issuer.to_owned(),
            found: claims.iss.clone(),
        });
    }
    if claims.sub.is_empty() {
        return Err(IdTokenError::InvalidClaims {
            reason: "sub is empty".into(),
        });
    }
    // Step 3: aud must contain the client id.
    if !claims.aud.contains(check.client_id) {
        return Err(IdTokenError::Audience {
            expected: check.client_id.to_owned(),
            found: claims.aud.0.clone(),
        });
    }
    // Steps 4-5: with several audiences azp must be present; when present it must be us.
    let several = claims.aud.0.len() > 1;
    if (several && claims.azp.is_none())
        || claims
            .azp
            .as_deref()
            .is_some_and(|azp| azp != check.client_id)
    {
        return Err(IdTokenError::AuthorizedParty {
            expected: check.client_id.to_owned(),
            found: claims.azp.clone(),
        });
    }
    // Step 9: the current time must be before exp (with the tolerance).
    let tol = check.clock_tolerance;
    if check.now.sub_secs(tol) >= claims.exp {
        return Err(IdTokenError::Expired {
            now: check.now,
            exp: claims.exp,
        });
    }
    // Step 10: iat may not lie in the future beyond the tolerance.
    if claims.iat > check.now.add_secs(tol) {
        return Err(IdTokenError::IssuedInFuture {
            now: check.now,
            iat: claims.iat,
        });
    }
    if let Some(nbf) = claims.nbf {
        if nbf > check.now.add_secs(tol) {
            return Err(IdTokenError::NotYetValid {
                now: check.now,
                nbf,
            });
        }
    }
    // Step 11: the nonce must be the one sent in the authentication request.
    match check.nonce {
        NonceCheck::Required(expected) => match claims.nonce.as_deref() {
            None => return Err(IdTokenError::NonceMissing),
            Some(found) if !crate::secret::Secret::new(found).ct_eq(expected) => {
                return Err(IdTokenError::NonceMismatch)
            }
            Some(_) => {}
        },
        NonceCheck::IfPresent(expected) => {
            if let (Some(found), Some(expected)) = (claims.nonce.as_deref(), expected) {
                if found != expected {
                    return Err(IdTokenError::NonceMismatch);
                }
            }
        }
    }
    // OIDC Core 12.2: a refreshed ID token names the same user.
    if let Some(expected) = check.subject {
        if claims.sub != expected {
            return Err(IdTokenError::SubjectChanged {
                expected: expected.to_owned(),
                found: claims.sub.clone(),
            });
        }
    }
    // OIDC Core 12.2: and, when both carry it, the same authentication.
    if let (Some(expected), Some(found)) = (check.auth_time, claims.auth_time) {
        if found != expected {
            return Err(IdTokenError::AuthTimeChanged { expected, found });
        }
    }
    Ok(())
}
