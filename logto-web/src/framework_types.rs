//! The public types logto-axum and logto-actix share in shape (the app's state, the
//! request's session, API protection and its tokens), written once as macros that each
//! framework crate expands at its own path: a framework's traits can only be implemented
//! for its crate's own types, so each crate needs types of its own. What differs (the
//! framework's glue: extractors, layers, routes, header types) stays in the crate.

/// The app's Logto state, `Logto`, with its builder alias, `From<LogtoWeb>`, `Deref` to
/// [`LogtoWeb`](crate::LogtoWeb) and the constructors `builder`, `from_env` and `new`. The
/// type's docs and `builder`'s are the framework crate's.
#[doc(hidden)]
#[macro_export]
macro_rules! __framework_state {
    (
        $(#[$state_doc:meta])*
        pub struct Logto;
        $(#[$builder_doc:meta])*
        pub fn builder;
    ) => {
        $(#[$state_doc])*
        #[derive(Clone)]
        pub struct Logto {
            web: $crate::LogtoWeb,
        }

        impl ::std::fmt::Debug for Logto {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.web, f)
            }
        }

        /// Builds a [`Logto`]; see [`Logto::builder`] and
        /// [`WebBuilder`](crate::WebBuilder)'s methods.
        pub type LogtoBuilder = $crate::WebBuilder<Logto>;

        impl ::std::convert::From<$crate::LogtoWeb> for Logto {
            fn from(web: $crate::LogtoWeb) -> Logto {
                Logto { web }
            }
        }

        impl ::std::ops::Deref for Logto {
            type Target = $crate::LogtoWeb;
            fn deref(&self) -> &$crate::LogtoWeb {
                &self.web
            }
        }

        impl Logto {
            $(#[$builder_doc])*
            pub fn builder(
                config: $crate::LogtoConfig,
                base_url: impl ::std::convert::Into<::std::string::String>,
            ) -> LogtoBuilder {
                $crate::WebBuilder::new(config, base_url)
            }

            /// The state of an app configured by environment variables (see
            /// [`WebBuilder::from_env`](crate::WebBuilder::from_env): `LOGTO_ENDPOINT`,
            /// `LOGTO_APP_ID`, `LOGTO_APP_SECRET`, `BASE_URL`, `LOGTO_SESSION_STORE`,
            /// `LOGTO_COOKIE_SECRET`, ...). The error names the variable.
            pub fn from_env() -> ::std::result::Result<Logto, $crate::Error> {
                LogtoBuilder::from_env()?.build()
            }

            /// `Logto::builder(config, base_url).build()` with a
            /// [`MemoryStore`](crate::MemoryStore).
            pub fn new(
                config: $crate::LogtoConfig,
                base_url: impl ::std::convert::Into<::std::string::String>,
            ) -> ::std::result::Result<Logto, $crate::Error> {
                Logto::builder(config, base_url).build()
            }
        }
    };
}

/// The request's session, `LogtoSession`: its client (also through `Deref`), whether it
/// exists, and a `Debug` that shows no token; the signed-in `User` (the claims and the
/// session) and `ApiUser` around it. The types' docs are the framework crate's, and so are `bearer_header` (its
/// header type is the framework's) and the extractors.
#[doc(hidden)]
#[macro_export]
macro_rules! __framework_session {
    (
        $(#[$doc:meta])* pub struct LogtoSession;
        $(#[$user_doc:meta])* pub struct User;
        $(#[$api_user_doc:meta])* pub struct ApiUser;
    ) => {
        $(#[$user_doc])*
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub struct User {
            /// The ID token's claims.
            pub claims: $crate::__private::IdTokenClaims,
            /// The user's session (tokens, user info, sign-out).
            pub session: LogtoSession,
        }

        impl User {
            pub(crate) fn from_signed_in(user: $crate::SignedIn) -> User {
                User {
                    claims: user.claims,
                    session: LogtoSession(user.session),
                }
            }
        }

        $(#[$api_user_doc])*
        #[derive(Clone, Debug)]
        pub struct ApiUser(pub(crate) User);

        impl ApiUser {
            /// The user.
            pub fn into_inner(self) -> User {
                self.0
            }
        }

        impl ::std::ops::Deref for ApiUser {
            type Target = User;
            fn deref(&self) -> &User {
                &self.0
            }
        }

        $(#[$doc])*
        #[derive(Clone)]
        pub struct LogtoSession(pub(crate) $crate::WebSession);

        impl LogtoSession {
            /// The session's client.
            pub fn client(&self) -> &$crate::__private::LogtoClient {
                self.0.client()
            }

            /// Whether the request's cookie named a session of the store (signed in or not;
            /// it may have expired or been signed out since this process last looked).
            pub fn exists(&self) -> bool {
                self.0.exists()
            }
        }

        impl ::std::ops::Deref for LogtoSession {
            type Target = $crate::__private::LogtoClient;
            fn deref(&self) -> &$crate::__private::LogtoClient {
                self.0.client()
            }
        }

        impl ::std::fmt::Debug for LogtoSession {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("LogtoSession")
                    .field("exists", &self.exists())
                    .finish_non_exhaustive()
            }
        }
    };
}

/// API protection, `LogtoApi` (its docs are the framework crate's), and the verified tokens
/// its extractors give: `ApiToken` and `OrganizationToken`, with `require_scopes`. The
/// framework crate adds how the extractors find the protection and implements them.
#[doc(hidden)]
#[macro_export]
macro_rules! __framework_api {
    ($(#[$doc:meta])* pub struct LogtoApi;) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct LogtoApi {
            protection: $crate::ApiProtection,
        }

        impl ::std::fmt::Debug for LogtoApi {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.protection, f)
            }
        }

        impl LogtoApi {
            /// Protection for the API resource `resource` (its indicator, the `aud` of its
            /// tokens) of the Logto tenant at `endpoint`.
            pub fn new(
                endpoint: &str,
                resource: impl ::std::convert::Into<::std::string::String>,
            ) -> ::std::result::Result<LogtoApi, $crate::Error> {
                let protection = $crate::ApiProtection::new(endpoint, resource)?;
                Ok(LogtoApi { protection })
            }

            /// Protection with a validator of your own (its transport, clock, cooldown,
            /// cache): the driver's [`ApiValidator`](crate::ApiValidator) or a transport
            /// crate's (`logto_reqwest::ApiValidator`, say).
            pub fn with_validator(
                validator: impl ::std::convert::Into<$crate::__private::ApiValidator>,
                resource: impl ::std::convert::Into<::std::string::String>,
            ) -> LogtoApi {
                let protection = $crate::ApiProtection::with_validator(validator, resource);
                LogtoApi { protection }
            }

            /// The path parameter naming the organization a route is about, for
            /// [`OrganizationToken`] (default `id`, as in `/organizations/{id}/members`).
            #[must_use]
            pub fn organization_param(
                self,
                name: impl ::std::convert::Into<::std::string::String>,
            ) -> LogtoApi {
                let protection = self.protection.organization_param(name);
                LogtoApi { protection }
            }

            /// The API resource indicator.
            pub fn resource(&self) -> &str {
                self.protection.resource()
            }

            /// Verifies `authorization` (an `Authorization` header value) and checks
            /// `requirement`.
            pub async fn authorize(
                &self,
                authorization: ::std::option::Option<&str>,
                requirement: &$crate::__private::Requirement,
            ) -> ::std::result::Result<
                ::std::sync::Arc<$crate::__private::VerifiedAccessToken>,
                $crate::Error,
            > {
                self.protection.authorize(authorization, requirement).await
            }
        }

        /// A request's bearer token for the API resource, verified: any valid token (a
        /// user's or a machine's) whose audience is the API and that is not scoped to an
        /// organization. Without one the handler does not run: 401 with
        /// `WWW-Authenticate: Bearer error="invalid_token"` and `{"error": "invalid_token"}`.
        #[derive(Clone, Debug)]
        pub struct ApiToken(pub ::std::sync::Arc<$crate::__private::VerifiedAccessToken>);

        /// A request's organization token, verified for the organization the route's path
        /// names (parameter `id` unless [`LogtoApi::organization_param`] says otherwise):
        /// `aud` is `urn:logto:organization:<id>`. Another organization's token gets 401.
        #[derive(Clone, Debug)]
        pub struct OrganizationToken {
            /// The verified token.
            pub token: ::std::sync::Arc<$crate::__private::VerifiedAccessToken>,
            /// The organization of the route (and of the token).
            pub organization_id: ::std::string::String,
        }

        impl ApiToken {
            /// Fails with 403 `insufficient_scope` (naming the scopes) unless every one is
            /// granted.
            pub fn require_scopes<I, S>(&self, scopes: I) -> ::std::result::Result<(), $crate::Error>
            where
                I: ::std::iter::IntoIterator<Item = S>,
                S: ::std::convert::Into<::std::string::String>,
            {
                $crate::require_scopes(&self.0, scopes)
            }
        }

        impl OrganizationToken {
            /// Fails with 403 `insufficient_scope` (naming the scopes) unless every one is
            /// granted.
            pub fn require_scopes<I, S>(&self, scopes: I) -> ::std::result::Result<(), $crate::Error>
            where
                I: ::std::iter::IntoIterator<Item = S>,
                S: ::std::convert::Into<::std::string::String>,
            {
                $crate::require_scopes(&self.token, scopes)
            }
        }

        impl ::std::ops::Deref for ApiToken {
            type Target = $crate::__private::VerifiedAccessToken;
            fn deref(&self) -> &$crate::__private::VerifiedAccessToken {
                &self.0
            }
        }
    };
}
