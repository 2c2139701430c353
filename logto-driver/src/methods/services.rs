//! The machine client's and the API validator's methods, for both modes (see the parent
//! module).

/// The public methods of `MachineClient` beyond its constructors.
macro_rules! machine_methods {
    ({$($async_kw:tt)*} {$($dot_await:tt)*}) => {
        /// The token for `target`: cached while fresh, else fetched (once for concurrent
        /// callers). `LogtoClient::token_for` is its twin for a user's session.
        pub $($async_kw)* fn token_for(&self, target: &TokenTarget) -> Result<AccessToken, Error> {
            if let Some(token) = self.cached(target) {
                return Ok(token);
            }
            let _one_fetch = self.lock_fetching() $($dot_await)*;
            // Whoever held the lock before may have fetched it.
            if let Some(token) = self.cached(target) {
                return Ok(token);
            }
            let token = self.client.fetch_machine_token(target.clone()) $($dot_await)* ?;
            self.tokens_mut().store(token.clone());
            Ok(token)
        }

        /// The token for `target`.
        #[deprecated(since = "0.2.0", note = "renamed to `token_for`, as on `LogtoClient`")]
        pub $($async_kw)* fn token(&self, target: &TokenTarget) -> Result<AccessToken, Error> {
            self.token_for(target) $($dot_await)*
        }

        /// An access token for an API resource, narrowed to `scopes` (empty: every scope the
        /// app's machine roles grant).
        pub $($async_kw)* fn access_token<I, S>(&self, resource: &str, scopes: I) -> Result<String, Error>
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let target = TokenTarget::resource(resource).with_scopes(scopes);
            Ok(self.token_for(&target) $($dot_await)* ?.token.expose().to_owned())
        }

        /// Trades a token (see [`LogtoClient::exchange_token`]) with the machine app's
        /// credentials: a service trading a user's personal access token or a subject token.
        /// Not cached: a subject token may be good for one exchange only.
        pub $($async_kw)* fn exchange_token(
            &self,
            exchange: TokenExchange,
        ) -> Result<AccessToken, Error> {
            self.client.exchange_token(exchange) $($dot_await)*
        }

        /// The API refused `token` (401): it is dropped if still cached for `target`, so the next
        /// call fetches a new one. Returns whether it was dropped.
        pub fn invalidate(&self, target: &TokenTarget, token: &str) -> bool {
            self.tokens_mut().invalidate(target, token)
        }

        /// The underlying client.
        pub fn client(&self) -> &LogtoClient {
            &self.client
        }

        fn cached(&self, target: &TokenTarget) -> Option<AccessToken> {
            let tokens = self.tokens.read().unwrap_or_else(|p| p.into_inner());
            let leeway = self.client.config().expiry_leeway();
            tokens.fresh(target, self.client.now(), leeway).cloned()
        }

        fn tokens_mut(&self) -> std::sync::RwLockWriteGuard<'_, MachineTokens> {
            self.tokens.write().unwrap_or_else(|p| p.into_inner())
        }
    };
}

/// The public methods of `ApiValidator` beyond its constructors.
macro_rules! validator_methods {
    ({$($async_kw:tt)*} {$($dot_await:tt)*}) => {
        /// A validator sending its requests with `client` (its transport, clock, tolerances
        /// and cooldown).
        pub fn with_client(client: impl Into<LogtoClient>) -> ApiValidator {
            ApiValidator {
                client: client.into(),
                verified: Arc::new(VerifiedTokenCache::new(DEFAULT_VERIFIED_CACHE)),
            }
        }

        /// Keeps at most `capacity` verified tokens (0: none, every presentation is verified).
        #[must_use]
        pub fn with_cache(self, capacity: usize) -> ApiValidator {
            ApiValidator {
                verified: Arc::new(VerifiedTokenCache::new(capacity)),
                ..self
            }
        }

        /// The underlying client.
        pub fn client(&self) -> &LogtoClient {
            &self.client
        }

        /// Verifies the bearer token of an `Authorization` header value and checks that it
        /// meets `requirement`.
        pub $($async_kw)* fn authorize(
            &self,
            authorization: Option<&str>,
            requirement: &Requirement,
        ) -> Result<Arc<VerifiedAccessToken>, Error> {
            let verified = self.verify(authorization) $($dot_await)* ?;
            let tolerance = self.client.config().clock_tolerance();
            verified
                .authorize(requirement, self.client.now(), tolerance)
                .map_err(|e| Error::Protocol(e.into()))?;
            Ok(verified)
        }

        /// [`authorize`](Self::authorize) for a bare token, where no HTTP request carries it
        /// (a queue message, a gRPC interceptor, a command-line argument).
        pub $($async_kw)* fn authorize_token(
            &self,
            token: &str,
            requirement: &Requirement,
        ) -> Result<Arc<VerifiedAccessToken>, Error> {
            self.authorize(Some(&format!("Bearer {token}")), requirement) $($dot_await)*
        }

        /// [`verify`](Self::verify) for a bare token (no route requirement).
        pub $($async_kw)* fn verify_token(
            &self,
            token: &str,
        ) -> Result<Arc<VerifiedAccessToken>, Error> {
            self.verify(Some(&format!("Bearer {token}"))) $($dot_await)*
        }

        /// Verifies the bearer token of an `Authorization` header value (no route requirement).
        pub $($async_kw)* fn verify(
            &self,
            authorization: Option<&str>,
        ) -> Result<Arc<VerifiedAccessToken>, Error> {
            let Ok(token) = logto_proto::resource::bearer_token(authorization) else {
                // No bearer token: the call refuses it at once, without a request, and reports it.
                let refused = self.client.verify_access_token(authorization) $($dot_await)*;
                return refused.map(Arc::new);
            };
            let now = self.client.now();
            if let Some(verified) = self.verified.get(token, now) {
                return Ok(verified);
            }
            let verified = self.client.verify_access_token(authorization) $($dot_await)* ?;
            let verified = Arc::new(verified);
            self.verified.insert(token, verified.clone(), now);
            Ok(verified)
        }
    };
}

pub(crate) use {machine_methods, validator_methods};
