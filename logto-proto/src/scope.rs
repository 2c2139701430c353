//! Logto's scopes, reserved resources, organization URNs, and how a sign-in composes them.

use std::fmt;

/// The `openid` scope.
pub const OPENID: &str = "openid";
/// The `offline_access` scope: asks for a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The reserved resource every organization token comes from.
pub const ORGANIZATIONS_RESOURCE: &str = "urn:logto:resource:organizations";
/// The prefix of an organization token's audience: `urn:logto:organization:<id>`.
pub const ORGANIZATION_URN_PREFIX: &str = "urn:logto:organization:";

/// Every scope Logto knows for users, as its exact string.
///
/// ```
/// use logto_proto::UserScope;
/// assert_eq!(UserScope::Organizations.as_str(), "urn:logto:scope:organizations");
/// assert_eq!(UserScope::parse("custom_data"), Some(UserScope::CustomData));
/// assert_eq!(UserScope::ALL.len(), 13);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserScope {
    /// `openid` (reserved).
    OpenId,
    /// `offline_access` (reserved): a refresh token.
    OfflineAccess,
    /// `profile`: name, username, picture, created_at/updated_at (ms), ...
    Profile,
    /// `email`: email, email_verified.
    Email,
    /// `phone`: phone_number, phone_number_verified.
    Phone,
    /// `address`: address (Logto's camelCase keys).
    Address,
    /// `custom_data`: custom_data (userinfo only by default).
    CustomData,
    /// `identities`: identities, sso_identities (userinfo only by default).
    Identities,
    /// `roles`: roles.
    Roles,
    /// `urn:logto:scope:organizations`: organizations, organization_data; enables
    /// organization tokens.
    Organizations,
    /// `urn:logto:scope:organization_roles`: organization_roles.
    OrganizationRoles,
    /// `urn:logto:scope:sessions` (Account API).
    Sessions,
    /// `urn:logto:scope:trusted_devices` (Account API).
    TrustedDevices,
}

impl UserScope {
    /// All thirteen scopes.
    pub const ALL: [UserScope; 13] = [
        UserScope::OpenId,
        UserScope::OfflineAccess,
        UserScope::Profile,
        UserScope::Email,
        UserScope::Phone,
        UserScope::Address,
        UserScope::CustomData,
        UserScope::Identities,
        UserScope::Roles,
        UserScope::Organizations,
        UserScope::OrganizationRoles,
        UserScope::Sessions,
        UserScope::TrustedDevices,
    ];

    /// The scope string on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserScope::OpenId => OPENID,
            UserScope::OfflineAccess => OFFLINE_ACCESS,
            UserScope::Profile => "profile",
            UserScope::Email => "email",
            UserScope::Phone => "phone",
            UserScope::Address => "address",
            UserScope::CustomData => "custom_data",
            UserScope::Identities => "identities",
            UserScope::Roles => "roles",
            UserScope::Organizations => "urn:logto:scope:organizations",
            UserScope::OrganizationRoles => "urn:logto:scope:organization_roles",
            UserScope::Sessions => "urn:logto:scope:sessions",
            UserScope::TrustedDevices => "urn:logto:scope:trusted_devices",
        }
    }

    /// The scope with this exact string, if Logto defines one.
    pub fn parse(s: &str) -> Option<UserScope> {
        UserScope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for UserScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<UserScope> for String {
    fn from(s: UserScope) -> String {
        s.as_str().to_owned()
    }
}

/// `urn:logto:organization:<id>`, the audience of an organization token.
///
/// ```
/// assert_eq!(logto_proto::scopes::organization_urn("org1"), "urn:logto:organization:org1");
/// ```
pub fn organization_urn(organization_id: &str) -> String {
    format!("{ORGANIZATION_URN_PREFIX}{organization_id}")
}

/// The organization id in `urn:logto:organization:<id>`, if `urn` is one.
///
/// ```
/// assert_eq!(logto_proto::scopes::organization_id_from_urn("urn:logto:organization:org1"), Some("org1"));
/// assert_eq!(logto_proto::scopes::organization_id_from_urn("https://api"), None);
/// ```
pub fn organization_id_from_urn(urn: &str) -> Option<&str> {
    urn.strip_prefix(ORGANIZATION_URN_PREFIX)
        .filter(|id| !id.is_empty())
}

fn push_unique(out: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !out.iter().any(|x| x == s) {
        out.push(s.to_owned());
    }
}

/// The scopes a sign-in asks for: `openid offline_access profile` first (unless
/// `include_reserved` is false), then the user's scopes in their order, without duplicates.
///
/// ```
/// let s = logto_proto::internals::compose_scopes(&["email".into(), "openid".into()], true);
/// assert_eq!(s, ["openid", "offline_access", "profile", "email"]);
/// ```
pub fn compose_scopes(user_scopes: &[String], include_reserved: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(user_scopes.len() + 3);
    if include_reserved {
        for s in [OPENID, OFFLINE_ACCESS, UserScope::Profile.as_str()] {
            push_unique(&mut out, s);
        }
    }
    for s in user_scopes {
        push_unique(&mut out, s);
    }
    out
}

/// The resources a sign-in asks for: the user's, in order, without duplicates, plus
/// `urn:logto:resource:organizations` when `scopes` holds the organizations scope.
///
/// ```
/// let r = logto_proto::internals::compose_resources(
///     &["https://api".into()],
///     &["urn:logto:scope:organizations".into()],
/// );
/// assert_eq!(r, ["https://api", "urn:logto:resource:organizations"]);
/// ```
pub fn compose_resources(user_resources: &[String], scopes: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(user_resources.len() + 1);
    for r in user_resources {
        push_unique(&mut out, r);
    }
    if has_organizations_scope(scopes) {
        push_unique(&mut out, ORGANIZATIONS_RESOURCE);
    }
    out
}

/// Whether `scopes` holds `urn:logto:scope:organizations`.
pub fn has_organizations_scope(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == UserScope::Organizations.as_str())
}
