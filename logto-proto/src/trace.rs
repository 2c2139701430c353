//! Events for `tracing` (the `tracing` feature); without the feature they compile to
//! nothing and their fields are never evaluated.
//!
//! What an event may carry: kinds, reasons, endpoints (URLs without their query), token
//! targets (resource, organization id, scopes), statuses, counts and durations. Never a
//! token, a secret, a code, a state, a nonce or a callback URL; errors are logged with
//! their `Display`, which carries none either.

macro_rules! event {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        ::tracing::$level!($($arg)+);
    }};
}
pub(crate) use event;

/// How a token target reads in an event: `resource=… organization=… scope=…`, or
/// `userinfo` for the token of no resource.
#[cfg(feature = "tracing")]
pub(crate) fn target(target: &crate::TokenTarget) -> String {
    let mut parts = Vec::new();
    if let Some(resource) = &target.resource {
        parts.push(format!("resource={resource}"));
    }
    if let Some(organization) = &target.organization_id {
        parts.push(format!("organization={organization}"));
    }
    if let Some(scope) = &target.scope {
        parts.push(format!("scope=\"{scope}\""));
    }
    if parts.is_empty() {
        "userinfo".to_owned()
    } else {
        parts.join(" ")
    }
}
