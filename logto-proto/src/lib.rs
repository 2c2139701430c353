//! # logto-proto
//!
//! The sans-IO protocol core of the Logto client SDK: every OpenID Connect flow of a Logto
//! client, as values in and values out.
//!
//! **In scope**: discovery, JWKS (with key rotation), the sign-in URL (PKCE S256, state,
//! nonce, every Logto parameter), the callback (exact redirect match, state, RFC 9207 `iss`),
//! code exchange, ID-token verification (OIDC Core 3.1.3.7), access tokens per resource and
//! organization with refresh and rotation, userinfo, revocation, the end-session URL, claim
//! models, and a versioned session snapshot.
//!
//! **Out of scope**: sockets, clocks, randomness, threads, storage, cookies. The adapters
//! (`logto-ureq`, `logto-isahc`) send the requests, read the clock and the OS RNG, and keep
//! the snapshot in a store. Same inputs, same outputs: every flow here is deterministic.
//!
//! ## Where things are
//! - **The root**: what an app meets through a driver crate: [`Config`], the errors
//!   ([`Error`], [`ClientError`]), the claims ([`IdTokenClaims`], [`UserInfo`], ...), the
//!   options of a sign-in ([`SignInOptions`]) and the values the client returns
//!   ([`AccessToken`], [`DeviceAuthorization`], ...).
//! - [`errors`]: the kinds of [`Error`], one per family, each carrying the values compared.
//! - [`scopes`]: the names Logto gives scopes, resources and organizations.
//! - [`resource`]: the resource-server side: bearer access tokens, logout tokens, keys.
//! - [`adapter`]: the kit of a driver crate: operations and the session call, HTTP values,
//!   the provider cache and the session snapshot.
//!
//! ## The pieces
//! - [`Config`]: the app (endpoint, app id/secret, scopes, resources, tolerances). Built once.
//! - [`adapter::ProviderCache`]: discovery metadata and JWKS, shared by every session of an
//!   endpoint.
//! - [`adapter::Snapshot`]: one user's session (pending sign-in, ID/refresh/access tokens),
//!   saved whole.
//! - [`adapter::Context`]: borrows the three and starts an operation.
//! - [`adapter::Call`]: one client call on a session kept in a store shared with other
//!   clients: the operation's requests plus storage reads, compare-and-swap writes and lease
//!   waits, with every rule of refresh-token rotation decided here (what the adapters drive).
//!
//! Flows that need no network are plain functions: [`adapter::sign_in_url`],
//! [`adapter::end_session_url`], [`adapter::Snapshot::id_token_claims`], [`decode_claims`].
//! Flows that need it are [operations](adapter::Operation): [`adapter::Discover`],
//! [`adapter::SignIn`], [`adapter::HandleSignInCallback`], [`adapter::GetAccessToken`],
//! [`adapter::FetchUserInfo`], [`adapter::SignOut`], [`adapter::HandleBackchannelLogout`].
//!
//! ## The driver loop
//! Every operation is driven the same way, sync or async. After each response, ask for the
//! next step; the snapshot and cache are up to date whenever the loop stops, success or not.
//!
//! ```text
//! loop {
//!     match op.step(now())? {
//!         Step::Send(request) => match http.send(request) {
//!             Ok(response) => op.handle_response(response, now())?,
//!             Err(e) if op.handle_transport_error(now()) => continue,
//!             Err(e) => return Err(e),
//!         },
//!         Step::Done(value) => break value,
//!     }
//! }
//! // then: save the snapshot, merge the cache back
//! ```
//! [`adapter::run`] is this loop for a blocking `send`.
//!
//! ## Sign-in, end to end
//! ```text
//!  app                         logto-proto                         Logto
//!   | sign_in(options, entropy)    |                                  |
//!   |----------------------------->| GET /oidc/.well-known/... (once) |
//!   |                              |--------------------------------->|
//!   |<-- authorization URL --------| pending {state, verifier, nonce} |
//!   |        (browser goes to Logto, user signs in, comes back)       |
//!   | handle_sign_in_callback(url) |                                  |
//!   |----------------------------->| redirect, state, error, iss, code|
//!   |                              | POST /oidc/token (code+verifier) |
//!   |                              |--------------------------------->|
//!   |                              | GET /oidc/jwks (once / rotation) |
//!   |                              |--------------------------------->|
//!   |                              | verify ID token (3.1.3.7)        |
//!   |<-- IdTokenClaims ------------| tokens stored, pending removed   |
//! ```
//!
//! ## A complete run with fixed inputs
//! The provider's answers below are fixed values (an ES384 ID token signed once for this
//! example), so this runs without a network and always gives the same result.
//!
//! ```
//! use logto_proto::adapter::*;
//! use logto_proto::*;
//! # mod example { include!("../tests/fixtures/example.rs"); }
//!
//! let config = Config::builder("https://tenant.logto.app", "app-id")
//!     .app_secret("app-secret")
//!     .build()?;
//! let mut cache = ProviderCache::new();
//! let mut session = Snapshot::new();
//! let now = UnixTime::from_secs(1_767_225_600);
//!
//! // A provider that answers from fixed values.
//! let provider = |request: HttpRequest| -> Result<HttpResponse, std::convert::Infallible> {
//!     let body = match request.url.as_str() {
//!         "https://tenant.logto.app/oidc/.well-known/openid-configuration" => example::DISCOVERY,
//!         "https://tenant.logto.app/oidc/jwks" => example::JWKS,
//!         "https://tenant.logto.app/oidc/token" => example::TOKEN_RESPONSE,
//!         other => panic!("unexpected request to {other}"),
//!     };
//!     Ok(HttpResponse::new(200, body))
//! };
//!
//! // 1. Sign in: the URL to redirect the browser to.
//! let entropy = SignInEntropy::from_bytes([7; 96]);
//! let options = SignInOptions::new("https://app.example.com/callback");
//! let mut op = Context::new(&config, &mut cache, &mut session).sign_in(options, entropy);
//! let url = run(&mut op, || now, provider).map_err(|e| format!("{e:?}"))?;
//! assert!(url.starts_with("https://tenant.logto.app/oidc/auth?client_id=app-id&"));
//!
//! // 2. The browser comes back to the redirect URI.
//! let callback = format!(
//!     "https://app.example.com/callback?code=abc&state={}&iss=https%3A%2F%2Ftenant.logto.app%2Foidc",
//!     example::STATE,
//! );
//! let mut op = Context::new(&config, &mut cache, &mut session).handle_sign_in_callback(callback);
//! let claims = run(&mut op, || now, provider).map_err(|e| format!("{e:?}"))?;
//! assert_eq!(claims.sub, "user-1");
//! assert!(session.is_authenticated());
//!
//! // 3. The snapshot is what storage keeps.
//! let stored = session.to_json();
//! assert_eq!(Snapshot::from_json(&stored)?, session);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod claims;
mod config;
mod crypto;
mod device;
mod error;
mod exchange;
mod http;
mod jwks;
mod jwt;
mod logout;
mod metadata;
mod ops;
mod scope;
mod secret;
mod session;
mod signin;
mod snapshot;
mod stored_session;
mod time;
mod token;
mod token_caches;
mod trace;
mod untrusted;
mod verify;

// What an app (or a driver's user) needs: the configuration, the errors, the claims, the
// options of a sign-in and the values the client API returns.
pub use claims::{
    decode_claims, AccessTokenClaims, Actor, Address, Audience, ExtraClaims, IdTokenClaims,
    Identity, OrganizationData, OrganizationTokenClaims, UserInfo,
};
pub use config::{redact_url, ClientAuth, Config, ConfigBuilder, Prompt};
pub use crypto::BACKEND as CRYPTO_BACKEND;
pub use device::DeviceAuthorization;
pub use error::Error;
pub use error::{ClientError, StorageError, TransportError, TransportErrorKind};
pub use exchange::TokenExchange;
pub use ops::SignOutResult;
pub use scope::UserScope;
pub use secret::Secret;
pub use signin::{DirectSignIn, FirstScreen, Identifier, InteractionMode, SignInOptions};
pub use snapshot::{AccessToken, TokenTarget};
pub use time::UnixTime;
pub use untrusted::{cut_untrusted, Untrusted};

/// The kinds of [`Error`], one per family: the flows' (configuration, sign-in, callback,
/// device sign-in, token exchange), the tokens' and keys', the provider's answers, and the
/// stored session's. Each carries the values it compared.
pub mod errors {
    pub use crate::error::{
        AccessTokenError, CallbackError, ClaimsError, ConfigError, DeviceError, DiscoveryError,
        IdTokenError, JwksError, LogoutTokenError, ProviderError, ResponseError, SignInError,
        SnapshotError, TokenExchangeError,
    };
}

/// Scopes, resources and organizations: the names Logto gives them.
pub mod scopes {
    pub use crate::scope::{
        organization_id_from_urn, organization_urn, OFFLINE_ACCESS, OPENID, ORGANIZATIONS_RESOURCE,
        ORGANIZATION_URN_PREFIX,
    };
}

/// The resource-server side: verifying the bearer access tokens an API receives (RFC 9068,
/// refused as RFC 6750 says), back-channel logout tokens, and the provider's keys.
pub mod resource {
    pub use crate::access::{
        bearer_token, verify_access_token, AccessTokenCheck, Requirement, VerifiedAccessToken,
        ACCESS_TOKEN_TYPE,
    };
    pub use crate::crypto::Algorithm;
    pub use crate::jwks::{Jwk, Jwks};
    pub use crate::logout::{
        logout_token_from_form, verify_logout_token, BackchannelLogout, LogoutTarget,
        LogoutTokenCheck, LogoutTokenClaims, BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_MAX_AGE,
        LOGOUT_TOKEN_TYPE, REPLAY_RECORD_MAX_TTL,
    };
    pub use crate::token_caches::VerifiedTokens;
}

/// The kit of a driver crate (an adapter over an HTTP client and a store, like `logto-ureq`
/// and `logto-isahc`): [`Call`](adapter::Call), the session protocol as steps, how a
/// session is read from storage, the operations on values and the provider's documents.
/// Apps never need it.
///
/// A driver is one loop, the same sync or async:
///
/// ```text
/// loop {
///     match call.step(now())? {
///         CallStep::Done(value) => return Ok(value),
///         CallStep::ReadSession => call.handle_read(store.get(SESSION_KEY)?, &mut reader, now())?,
///         CallStep::WriteSession { expected, new } =>
///             call.handle_written(store.compare_and_swap(SESSION_KEY, expected, new)?, now())?,
///         CallStep::Wait(duration) => { sleep(duration); call.handle_waited(now())? }
///         CallStep::Send(request) => match http.send(request) {
///             Ok(response) => call.handle_response(response, now())?,
///             Err(e) => { failed = Some(e); call.handle_transport_error(now()); }
///         },
///     }
/// }
/// ```
pub mod adapter {
    pub use crate::device::{DEFAULT_POLL_INTERVAL, DEVICE_CODE_GRANT, SLOW_DOWN_STEP};
    pub use crate::exchange::{
        ACCESS_TOKEN_TOKEN_TYPE, PERSONAL_ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT,
    };
    pub use crate::http::{HttpRequest, HttpResponse, Method};
    pub use crate::metadata::{ProviderCache, ProviderMetadata};
    pub use crate::ops::{
        run, CompleteDeviceSignIn, Context, Discover, ExchangeToken, FetchMachineToken,
        FetchUserInfo, GetAccessToken, HandleBackchannelLogout, HandleSignInCallback, Operation,
        Revocation, RunError, SignIn, SignOut, StartDeviceSignIn, Step, VerifyAccessToken,
    };
    pub use crate::session::{Call, CallInputs, CallStep};

    /// The inputs of a [`Call`], under their earlier name.
    #[deprecated(since = "0.2.0", note = "renamed to `CallInputs`")]
    pub type CallEnv<'a> = CallInputs<'a>;
    pub use crate::signin::{end_session_url, sign_in_url, SignInEntropy, RESERVED_PARAMETERS};
    pub use crate::snapshot::{PendingSignIn, RefreshLease, Snapshot, SNAPSHOT_VERSION};
    pub use crate::stored_session::{
        lease_holder, logout_index_keys, read_session, refresh_lease_ttl, session_write,
        SessionReader, SessionWrite, SESSION_KEY,
    };
    pub use crate::token_caches::MachineTokens;
    pub use crate::untrusted::UNTRUSTED_SHOWN_CHARS;
}

/// What the project's own tests, fuzz targets and benchmarks reach inside the core (the
/// `internals` feature): the pieces of a flow on their own, and the refresh lease that a
/// session call otherwise keeps to itself. Not part of the stable API.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::scope::{compose_resources, compose_scopes, has_organizations_scope};
    pub use crate::signin::code_challenge;
    pub use crate::snapshot::{LeaseState, SnapshotLeases};
    pub use crate::token::TokenResponse;
    pub use crate::verify::{verify_id_token, IdTokenCheck, NonceCheck};
}

// The paths of earlier versions, kept so that existing code compiles; the CHANGELOG names
// each item's module. Hidden from the docs, which show the modules above.
#[doc(hidden)]
pub use adapter::{
    end_session_url, run, sign_in_url, CompleteDeviceSignIn, Context, Discover, ExchangeToken,
    FetchMachineToken, FetchUserInfo, GetAccessToken, HandleBackchannelLogout,
    HandleSignInCallback, HttpRequest, HttpResponse, MachineTokens, Method, Operation,
    PendingSignIn, ProviderCache, ProviderMetadata, RefreshLease, Revocation, RunError, SignIn,
    SignInEntropy, SignOut, Snapshot, StartDeviceSignIn, Step, VerifyAccessToken,
    ACCESS_TOKEN_TOKEN_TYPE, DEFAULT_POLL_INTERVAL, DEVICE_CODE_GRANT, PERSONAL_ACCESS_TOKEN_TYPE,
    RESERVED_PARAMETERS, SLOW_DOWN_STEP, SNAPSHOT_VERSION, TOKEN_EXCHANGE_GRANT,
    UNTRUSTED_SHOWN_CHARS,
};
#[doc(hidden)]
pub use errors::*;
#[doc(hidden)]
pub use resource::*;
#[doc(hidden)]
pub use scopes::*;
