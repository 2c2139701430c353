//! Token exchange (OAuth 2.0 Token Exchange, RFC 8693) as Logto serves it: a personal access
//! token, an impersonation subject token or another access token traded for an access token,
//! optionally on behalf of an actor (delegation).

use crate::secret::Secret;
use crate::snapshot::TokenTarget;
use std::fmt;

/// The grant type of a token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The subject token type of a user's personal access token (Logto).
pub const PERSONAL_ACCESS_TOKEN_TYPE: &str = "urn:logto:token-type:personal_access_token";

/// The token type of an access token (RFC 8693 §3): Logto's impersonation subject tokens and
/// actor tokens are of this type.
pub const ACCESS_TOKEN_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// What to trade at the token endpoint: the subject token and its type, an optional actor
/// token, and the token wanted (resource, organization, scopes).
///
/// Logto answers with an access token only (no refresh token, no ID token). With an actor
/// token, the issued token names the actor in its `act` claim
/// ([`AccessTokenClaims::act`](crate::AccessTokenClaims::act)). `Debug` hides the tokens.
///
/// ```
/// use logto_proto::TokenExchange;
/// let pat = TokenExchange::personal_access_token("pat_...")
///     .resource("https://api.example.com")
///     .scopes(["read:data"]);
/// assert_eq!(pat.target().resource.as_deref(), Some("https://api.example.com"));
/// assert!(!format!("{pat:?}").contains("pat_..."));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct TokenExchange {
    subject_token: Secret,
    subject_token_type: String,
    actor_token: Option<(Secret, String)>,
    target: TokenTarget,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("subject_token", &self.subject_token)
            .field("subject_token_type", &self.subject_token_type)
            .field(
                "actor_token_type",
                &self.actor_token.as_ref().map(|(_, kind)| kind),
            )
            .field("target", &self.target)
            .finish()
    }
}

impl TokenExchange {
    /// Trades a user's personal access token (not consumed by the exchange; it may expire).
    pub fn personal_access_token(token: impl Into<String>) -> Self {
        Self::subject(token, PERSONAL_ACCESS_TOKEN_TYPE)
    }

    /// Trades an impersonation subject token, as the Management API issues it
    /// (`POST /api/subject-tokens`): short-lived, and good for one exchange.
    pub fn impersonation(subject_token: impl Into<String>) -> Self {
        Self::subject(subject_token, ACCESS_TOKEN_TOKEN_TYPE)
    }

    /// Trades a subject token of any type the provider accepts.
    pub fn subject(token: impl Into<String>, token_type: impl Into<String>) -> Self {
        TokenExchange {
            subject_token: Secret::new(token),
            subject_token_type: token_type.into(),
            actor_token: None,
            target: TokenTarget::default(),
        }
    }

    /// Acts on the subject's behalf with this access token of the acting party: the issued
    /// token carries `act: {"sub": <actor>}`.
    pub fn actor(self, actor_token: impl Into<String>) -> Self {
        self.actor_of_type(actor_token, ACCESS_TOKEN_TOKEN_TYPE)
    }

    /// [`actor`](Self::actor) with a token type of the caller's choice.
    pub fn actor_of_type(
        mut self,
        actor_token: impl Into<String>,
        token_type: impl Into<String>,
    ) -> Self {
        self.actor_token = Some((Secret::new(actor_token), token_type.into()));
        self
    }

    /// The API resource the token is for.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.target.resource = Some(resource.into()).filter(|r: &String| !r.is_empty());
        self
    }

    /// The organization: without a resource, an organization token; with one, an
    /// organization-scoped API token.
    pub fn organization(mut self, organization_id: impl Into<String>) -> Self {
        self.target.organization_id = Some(organization_id.into());
        self
    }

    /// Narrows the token to these scopes (none: what the subject may have).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.target = self.target.with_scopes(scopes);
        self
    }

    /// Which token is asked for: the issued [`AccessToken`](crate::AccessToken) carries it.
    pub fn target(&self) -> &TokenTarget {
        &self.target
    }

    /// The subject token's type.
    pub fn subject_token_type(&self) -> &str {
        &self.subject_token_type
    }

    /// The token request's form parameters (without client authentication).
    pub(crate) fn params(&self) -> Vec<(&str, &str)> {
        let mut params = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", self.subject_token.expose()),
            ("subject_token_type", self.subject_token_type.as_str()),
        ];
        if let Some((token, kind)) = &self.actor_token {
            params.push(("actor_token", token.expose()));
            params.push(("actor_token_type", kind.as_str()));
        }
        params.extend(self.target.params());
        params
    }
}
