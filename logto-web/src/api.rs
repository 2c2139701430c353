//! Protecting an API: the verified bearer token of a request, for the API resource or for
//! the organization the route names.

use crate::{Error, RequestHeaders};
use logto_driver::aio::ApiValidator;
use logto_proto::errors::AccessTokenError;
use logto_proto::resource::{Requirement, VerifiedAccessToken};
use logto_proto::ClientError;
use std::fmt;
use std::sync::Arc;

/// The path parameter naming an organization unless the app says otherwise
/// (`/organizations/{id}/members`).
const DEFAULT_ORGANIZATION_PARAM: &str = "id";

/// API protection, whatever the framework: the tokens Logto issues for one API resource,
/// verified against the tenant's keys (see [`ApiValidator`]). Cheap to clone. The
/// frameworks' `LogtoApi` wrap it.
#[derive(Clone)]
pub struct ApiProtection {
    inner: Arc<ApiInner>,
}

struct ApiInner {
    validator: ApiValidator,
    resource: String,
    organization_param: String,
}

/// The organization parameter of a route, as the framework's router found it.
#[derive(Debug, PartialEq, Eq)]
pub enum OrganizationParam {
    /// The parameter's value, decoded.
    Found(String),
    /// The route has no parameter of that name: the app's set-up.
    Missing,
    /// The request's path does not decode (`/organizations/%FF/members`): the client's
    /// fault. The reason is the router's text.
    Malformed(String),
}

impl OrganizationParam {
    /// The parameter from its segment of the path as the router matched it, percent-encoded
    /// where the router left it so (`None`: the route has no parameter of that name), and
    /// the request's raw path: a path that does not percent-decode to UTF-8 is malformed,
    /// whatever a lenient router made of it (actix-web turns `%FF` into `U+FFFD`).
    pub fn from_segment(segment: Option<&str>, raw_path: &str) -> OrganizationParam {
        let decode = |text| percent_encoding::percent_decode_str(text).decode_utf8();
        if let Err(e) = decode(raw_path) {
            return OrganizationParam::Malformed(format!("the path: {e}"));
        }
        let Some(segment) = segment else {
            return OrganizationParam::Missing;
        };
        match decode(segment) {
            Ok(id) => OrganizationParam::Found(id.into_owned()),
            Err(e) => OrganizationParam::Malformed(format!("the organization in the path: {e}")),
        }
    }
}

impl fmt::Debug for ApiProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoApi")
            .field("resource", &self.inner.resource)
            .finish_non_exhaustive()
    }
}

impl ApiProtection {
    /// Protection for the API resource `resource` (its indicator, the `aud` of its tokens)
    /// of the Logto tenant at `endpoint`, over the default transport.
    pub fn new(endpoint: &str, resource: impl Into<String>) -> Result<ApiProtection, Error> {
        let validator = crate::transport::default_validator(endpoint)?;
        Ok(ApiProtection::with_validator(validator, resource))
    }

    /// Protection with a validator of your own (its transport, clock, cooldown, cache): the
    /// driver's [`ApiValidator`] or a transport crate's (`logto_reqwest::ApiValidator`,
    /// `logto_isahc::ApiValidator`).
    pub fn with_validator(
        validator: impl Into<ApiValidator>,
        resource: impl Into<String>,
    ) -> ApiProtection {
        ApiProtection {
            inner: Arc::new(ApiInner {
                validator: validator.into(),
                resource: resource.into(),
                organization_param: DEFAULT_ORGANIZATION_PARAM.to_owned(),
            }),
        }
    }

    /// The path parameter naming the organization a route is about, for organization
    /// tokens (default `id`, as in `/organizations/{id}/members`).
    #[must_use]
    pub fn organization_param(self, name: impl Into<String>) -> ApiProtection {
        let inner = ApiInner {
            validator: self.inner.validator.clone(),
            resource: self.inner.resource.clone(),
            organization_param: name.into(),
        };
        ApiProtection {
            inner: Arc::new(inner),
        }
    }

    /// The name of the path parameter naming the organization.
    pub fn organization_param_name(&self) -> &str {
        &self.inner.organization_param
    }

    /// The API resource indicator.
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// Verifies `authorization` (an `Authorization` header value) and checks `requirement`.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        requirement: &Requirement,
    ) -> Result<Arc<VerifiedAccessToken>, Error> {
        Ok(self
            .inner
            .validator
            .authorize(authorization, requirement)
            .await?)
    }

    /// A token for the API resource: any valid token (a user's or a machine's) whose
    /// audience is the API and that is not scoped to an organization. Without one, 401 with
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    pub async fn api_token(
        &self,
        headers: &RequestHeaders<'_>,
    ) -> Result<Arc<VerifiedAccessToken>, Error> {
        let requirement = Requirement::resource(self.resource());
        self.authorize(headers.authorization(), &requirement).await
    }

    /// An organization token for the organization `param` names: `aud` is
    /// `urn:logto:organization:<id>`. Another organization's token gets 401; a route without
    /// the parameter is the app's error (500); a path that does not decode is 400, after the
    /// bearer challenge when the request has no token at all.
    pub async fn organization_token(
        &self,
        headers: &RequestHeaders<'_>,
        param: OrganizationParam,
    ) -> Result<(Arc<VerifiedAccessToken>, String), Error> {
        let authorization = headers.authorization();
        let organization_id = match param {
            OrganizationParam::Found(id) => id,
            OrganizationParam::Missing => {
                return Err(Error::MissingOrganizationParam {
                    name: self.inner.organization_param.clone(),
                })
            }
            OrganizationParam::Malformed(reason) => {
                // Without a token the answer is the bearer challenge, as for any request.
                if authorization.is_none() {
                    self.api_token(headers).await?;
                }
                return Err(Error::MalformedPath {
                    reason: logto_proto::cut_untrusted(&reason),
                });
            }
        };
        let requirement = Requirement::organization(organization_id.clone());
        let token = self.authorize(authorization, &requirement).await?;
        Ok((token, organization_id))
    }
}

/// Fails with 403 `insufficient_scope` (naming the scopes) unless `token` grants every one.
pub fn require_scopes<I, S>(token: &VerifiedAccessToken, scopes: I) -> Result<(), Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let required: Vec<String> = scopes.into_iter().map(Into::into).collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|scope| !token.has_scope(scope))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let refused = AccessTokenError::InsufficientScope { required, missing };
    Err(ClientError::Protocol(refused.into()).into())
}

#[cfg(test)]
mod tests {
    use super::OrganizationParam;

    #[test]
    fn an_encoded_organization_is_decoded_once_and_must_be_utf8() {
        let found = |id: &str| OrganizationParam::Found(id.to_owned());
        let param = |segment, path| OrganizationParam::from_segment(segment, path);
        assert_eq!(param(Some("org1"), "/o/org1/m"), found("org1"));
        assert_eq!(param(Some("a b"), "/o/a%20b/m"), found("a b"));
        assert_eq!(param(Some("%2525"), "/o/%2525/m"), found("%25"));
        assert_eq!(param(None, "/o/org1/m"), OrganizationParam::Missing);
        // As the router gave it (`%FF` kept, or turned into U+FFFD): the raw path decides.
        for segment in ["%FF", "\u{fffd}"] {
            let malformed = param(Some(segment), "/o/%FF/m");
            assert!(
                matches!(malformed, OrganizationParam::Malformed(_)),
                "{segment}"
            );
        }
    }
}
