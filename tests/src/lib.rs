//! Test support: starts the project's Logto-compatible provider (`tests/provider`).
//!
//! The provider is a real OpenID Connect server (Node.js, the `oidc-provider` package that Logto's
//! server is built on) configured to behave like Logto where a client can observe it. Each
//! [`Provider`] is its own `node` child process on its own ephemeral loopback port, so tests run
//! in parallel; dropping the value stops the process.
//!
//! * [`Provider`]: start, endpoints, clients, users, and the test controls (fault injection, key
//!   rotation, request log, organization membership, clock).
//! * [`Browser`]: a cookie-keeping, non-interactive user agent that signs in through the
//!   provider's HTML form and stops at the redirect back to the client.
//! * [`Visitor`]: a cookie-keeping HTTP client for a web app under test (a sample), whose
//!   clones on several threads are one browser sending concurrent requests.
//! * [`RedisServer`]: a real `redis-server` on a free loopback port, stopped and restarted
//!   by PID with its data kept.
//! * [`examples`]: the workspace's example programs, built and run as processes.
//! * [`raw`]: plain HTTP helpers for tests that speak the protocol by hand (PKCE, authorization
//!   URLs, form posts with client authentication, JWT decoding without verification).
//!
//! ```no_run
//! use logto_integration::{raw::AuthorizationRequest, Browser, Provider};
//!
//! let provider = Provider::start();
//! let client = provider.public_client();
//! let request = AuthorizationRequest::new(&client.client_id, provider.redirect_uri());
//! let callback = Browser::new().sign_in(
//!     &request.url(&provider.authorization_endpoint()),
//!     &provider.alice().username,
//!     &provider.alice().password,
//! );
//! assert!(callback.starts_with(provider.redirect_uri()));
//! ```
//!
//! Needs Node.js 20.19+ and `npm ci --prefix tests/provider` (`scripts/test.sh` runs it); without them every test panics with
//! instructions (it never skips silently).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod browser;
pub mod examples;
mod process;
mod provider;
pub mod raw;
mod redis;
pub mod throughput;
mod visitor;

pub use browser::{Browser, Landing, SignInPage};
pub use provider::{
    ApiResource, ClientCredentials, Fault, FaultMode, Organization, Provider, ProviderBuilder,
    RequestRecord, RotatedKey, TestUser,
};
pub use redis::RedisServer;
pub use visitor::Visitor;

/// Well-known values of the provider's fixtures (`tests/provider/fixtures.json`).
pub mod fixtures {
    /// API resource with scopes `read:data write:data`.
    pub const API_RESOURCE: &str = "https://api.example.com";
    /// Second API resource, with scope `read:reports`.
    pub const API2_RESOURCE: &str = "https://api2.example.com";
    /// Logto's reserved resource requested with the organizations scope at sign-in.
    pub const ORGANIZATION_RESOURCE: &str = "urn:logto:resource:organizations";
    /// Scope that enables organization tokens and the `organizations` claim.
    pub const ORGANIZATIONS_SCOPE: &str = "urn:logto:scope:organizations";
    /// Scope of the `organization_roles` claim.
    pub const ORGANIZATION_ROLES_SCOPE: &str = "urn:logto:scope:organization_roles";
    /// Prefix of an organization token's `aud`.
    pub const ORGANIZATION_URN_PREFIX: &str = "urn:logto:organization:";
    /// Alice is an `admin` of this organization (`read:books write:books`, and `write:data` on
    /// [`API_RESOURCE`]).
    pub const ORG1: &str = "org1";
    /// Alice is a `viewer` of this organization (`read:books`).
    pub const ORG2: &str = "org2";
    /// An organization nobody belongs to.
    pub const ORG3: &str = "org3";
    /// Every permission of the organization template.
    pub const ORGANIZATION_SCOPES: [&str; 3] = ["read:books", "write:books", "delete:books"];
}

/// The workspace README's Rust examples, compiled as this crate's doctests (its
/// dev-dependencies have every crate they use), so that none of them goes stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
