//! The pending sign-in, sealed in the browser's sign-in cookie.
//!
//! Starting a sign-in writes nothing to the session store: the pending state (state,
//! PKCE verifier, nonce, redirect URI, start time) travels in the `logto_sign_in` cookie,
//! encrypted and authenticated (AES-256-GCM, the cookie's name bound in) with a key only
//! the app holds. Anonymous `/sign-in` requests therefore cost the app no memory and evict
//! nobody's sign-in; the store sees a session only when a callback brings a sealed cookie
//! this app made, and keeps it only when the sign-in succeeds.

use cookie::{Cookie, CookieJar, Key};
use sha2::{Digest, Sha256};

/// Bound into the key derivation: a secret used elsewhere gives an unrelated key here. The
/// label is the one logto-axum sealed with before these rules moved here, so that sign-ins
/// under way when an app upgrades still end.
const KEY_LABEL: &[u8] = b"logto-axum sign-in cookie v1\0";

/// The shortest secret taken for sealing sign-in cookies, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// Seals and opens pending sign-ins with the app's key.
pub(crate) struct SignInSealer {
    key: Key,
}

impl SignInSealer {
    /// The key derived from `secret` (at least [`MIN_SECRET_LEN`] bytes of entropy, or the
    /// app secret), the same on every instance given the same secret.
    pub(crate) fn from_secret(secret: &[u8]) -> SignInSealer {
        let master = Sha256::new()
            .chain_update(KEY_LABEL)
            .chain_update(secret)
            .finalize();
        SignInSealer {
            key: Key::derive_from(&master),
        }
    }

    /// A random key of this process (a sign-in must then end on the instance that started
    /// it, before a restart).
    pub(crate) fn random() -> Option<SignInSealer> {
        Key::try_generate().map(|key| SignInSealer { key })
    }

    /// `pending` sealed as the value of cookie `name`.
    pub(crate) fn seal(&self, name: &'static str, pending: String) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key).add(Cookie::new(name, pending));
        jar.get(name)
            .map(|sealed| sealed.value().to_owned())
            .unwrap_or_default()
    }

    /// The pending sign-in in `sealed`, the value of cookie `name`; `None` unless this app
    /// sealed it under that name, unchanged.
    pub(crate) fn open(&self, name: &'static str, sealed: &str) -> Option<String> {
        let jar = CookieJar::new();
        jar.private(&self.key)
            .decrypt(Cookie::new(name, sealed.to_owned()))
            .map(|pending| pending.value().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_apps_unchanged_cookie_opens() {
        let sealer = SignInSealer::from_secret(b"a secret of thirty-two bytes or more");
        let sealed = sealer.seal("logto_sign_in", r#"{"v":1,"pending":{}}"#.to_owned());
        assert!(!sealed.contains("pending"), "encrypted: {sealed}");
        let same_secret = SignInSealer::from_secret(b"a secret of thirty-two bytes or more");
        assert_eq!(
            same_secret.open("logto_sign_in", &sealed).as_deref(),
            Some(r#"{"v":1,"pending":{}}"#),
            "another instance with the same secret opens it"
        );
        let other = SignInSealer::from_secret(b"another secret of thirty-two bytes!!");
        assert_eq!(other.open("logto_sign_in", &sealed), None);
        assert_eq!(
            sealer.open("logto_session", &sealed),
            None,
            "the name is bound"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(sealer.open("logto_sign_in", &tampered), None);
        assert_eq!(sealer.open("logto_sign_in", "not sealed"), None);
        assert_eq!(sealer.open("logto_sign_in", ""), None);
    }
}
