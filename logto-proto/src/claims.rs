//! Claim models: what Logto puts in ID tokens, userinfo and access tokens.
//!
//! Every model keeps the claims it does not name in `extra`, so a custom JWT claim or a new
//! Logto claim is never dropped. Nullable fields are `Option`s: Logto sends `null` for an
//! unset `name`/`picture`/`username`/`email`/`phone_number` and leaves other profile claims out.

use crate::time::UnixTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Claims Logto does not model, or a custom-JWT script added.
pub type ExtraClaims = serde_json::Map<String, serde_json::Value>;

/// `aud`: one audience or several.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// Whether `aud` names `who`.
    pub fn contains(&self, who: &str) -> bool {
        self.0.iter().any(|a| a == who)
    }

    /// The audiences.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => Audience(vec![s]),
            OneOrMany::Many(v) => Audience(v),
        })
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

/// A postal address, with the keys Logto stores (camelCase, unlike OIDC's snake case).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Address {
    /// Full address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Other keys.
    #[serde(flatten)]
    pub extra: ExtraClaims,
}

/// One social identity of the user (`identities` claim).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The user's id at that provider.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The provider's profile details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// One organization of the user (`organization_data` claim).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationData {
    /// Organization id.
    pub id: String,
    /// Organization name.
    pub name: String,
    /// Description, `null` when unset.
    #[serde(default)]
    pub description: Option<String>,
}

macro_rules! profile_claims {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Full name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub name: Option<String>,
            /// Given name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub given_name: Option<String>,
            /// Family name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub family_name: Option<String>,
            /// Middle name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub middle_name: Option<String>,
            /// Nickname.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub nickname: Option<String>,
            /// Preferred username (Logto falls back to `username`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub preferred_username: Option<String>,
            /// Profile page URL.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub profile: Option<String>,
            /// Picture URL.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub picture: Option<String>,
            /// Website URL.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub website: Option<String>,
            /// Gender.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub gender: Option<String>,
            /// Birthdate.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub birthdate: Option<String>,
            /// Time zone.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub zoneinfo: Option<String>,
            /// Locale.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub locale: Option<String>,
            /// Logto username.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub username: Option<String>,
            /// Account creation, in **milliseconds** since the epoch.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub created_at: Option<i64>,
            /// Last profile update, in **milliseconds** since the epoch.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub updated_at: Option<i64>,
            /// Primary email.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub email: Option<String>,
            /// Whether the email is verified.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub email_verified: Option<bool>,
            /// Primary phone.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub phone_number: Option<String>,
            /// Whether the phone is verified.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub phone_number_verified: Option<bool>,
            /// Address, with Logto's camelCase keys.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub address: Option<Address>,
            /// API-resource role names.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub roles: Option<Vec<String>>,
            /// Organization ids.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub organizations: Option<Vec<String>>,
            /// Organization roles, `"<orgId>:<roleName>"`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub organization_roles: Option<Vec<String>>,
            /// Organizations with names (userinfo, or the ID token if enabled).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub organization_data: Option<Vec<OrganizationData>>,
            /// Custom data (userinfo, or the ID token if enabled).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub custom_data: Option<serde_json::Value>,
            /// Social identities by target (userinfo, or the ID token if enabled).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub identities: Option<BTreeMap<String, Identity>>,
            /// Enterprise SSO identities.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub sso_identities: Option<Vec<serde_json::Value>>,
            /// Every other claim.
            #[serde(flatten)]
            pub extra: ExtraClaims,
        }
    };
}

profile_claims! {
    /// The claims of a verified ID token.
    pub struct IdTokenClaims {
        /// Issuer: `{endpoint}/oidc`.
        pub iss: String,
        /// The user's id.
        pub sub: String,
        /// The app id (possibly among others).
        pub aud: Audience,
        /// Expiry.
        pub exp: UnixTime,
        /// Issue time.
        pub iat: UnixTime,
        /// Not before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub nbf: Option<UnixTime>,
        /// Time of authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth_time: Option<UnixTime>,
        /// The nonce sent at sign-in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub nonce: Option<String>,
        /// Authorized party.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub azp: Option<String>,
        /// Session id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sid: Option<String>,
        /// Access-token hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub at_hash: Option<String>,
    }
}

profile_claims! {
    /// The userinfo response (`/oidc/me`): every claim of the granted scopes.
    pub struct UserInfo {
        /// The user's id.
        pub sub: String,
    }
}

impl UserInfo {
    /// Parses a userinfo body.
    ///
    /// ```
    /// let info = logto_proto::UserInfo::parse(br#"{"sub":"u1","name":null,"custom_data":{"plan":"pro"},"created_at":1700000000000}"#).unwrap();
    /// assert_eq!(info.sub, "u1");
    /// assert_eq!(info.name, None);
    /// assert_eq!(info.created_at, Some(1_700_000_000_000));
    /// ```
    pub fn parse(body: &[u8]) -> Result<UserInfo, crate::error::ResponseError> {
        serde_json::from_slice(body).map_err(|e| crate::error::ResponseError::Malformed {
            what: "userinfo",
            reason: crate::error::json_reason(&e),
        })
    }
}

/// The claims of a JWT access token for an API resource.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The user's id (the app id for machine-to-machine tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The resource indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// Issue time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// The app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The organization of an organization-scoped API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Who acts on the subject's behalf: set on a token issued by a token exchange with an
    /// actor token (RFC 8693 §4.1, delegation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: ExtraClaims,
}

/// The `act` claim (RFC 8693 §4.1): the party acting on the subject's behalf.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The actor's subject (a user id, or an app id for a machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Every other claim of the actor (a nested `act` for a chain of delegations).
    #[serde(flatten)]
    pub extra: ExtraClaims,
}

/// The claims of an organization token (`aud = urn:logto:organization:<id>`).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationTokenClaims {
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `urn:logto:organization:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// Issue time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// The app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user's organization permissions, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: ExtraClaims,
}

impl OrganizationTokenClaims {
    /// The organization id from `aud`.
    pub fn organization_id(&self) -> Option<&str> {
        self.aud
            .as_ref()?
            .0
            .iter()
            .find_map(|a| crate::scope::organization_id_from_urn(a))
    }
}

/// Decodes the claims of a stored token **without verifying it** (it was verified when
/// stored, or it is an access token meant for an API that verifies it).
///
/// An opaque token gives [`ClaimsError::NotAJwt`](crate::ClaimsError::NotAJwt).
///
/// ```
/// use logto_proto::{decode_claims, AccessTokenClaims, ClaimsError};
/// assert_eq!(decode_claims::<AccessTokenClaims>("opaque-token"), Err(ClaimsError::NotAJwt));
/// ```
pub fn decode_claims<T: serde::de::DeserializeOwned>(
    token: &str,
) -> Result<T, crate::error::ClaimsError> {
    Ok(crate::jwt::decode_payload(token)?)
}
