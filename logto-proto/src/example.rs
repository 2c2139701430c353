//! Fixed provider answers for the crate-level example (an ES384 key and a token signed once).

/// Discovery document.
pub const DISCOVERY: &str = "";
/// JWKS.
pub const JWKS: &str = "";
/// Token response.
pub const TOKEN_RESPONSE: &str = "";
/// The state `SignInEntropy::from_bytes([7; 96])` yields.
pub const STATE: &str = "";
