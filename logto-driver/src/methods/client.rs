//! The app client's methods and the driver loop (`run`), for both modes (see the parent
//! module).

/// The public methods of `LogtoClient`, and its driver loop.
macro_rules! client_methods {
    ({$($async_kw:tt)*} {$($dot_await:tt)*}) => {
        /// The configuration.
        pub fn config(&self) -> &logto_proto::Config {
            self.session.config()
        }

        /// The URL to send the user to, for a sign-in that comes back to `redirect_uri`.
        /// Starting a sign-in clears the session's tokens.
        pub $($async_kw)* fn sign_in(&self, redirect_uri: &str) -> Result<String, Error> {
            self.sign_in_with(SignInOptions::new(redirect_uri)) $($dot_await)*
        }

        /// [`sign_in`](Self::sign_in) with every option (interaction mode, first screen,
        /// identifiers, direct sign-in, login hint, prompt, extra parameters).
        pub $($async_kw)* fn sign_in_with(&self, options: SignInOptions) -> Result<String, Error> {
            let entropy = self.session.sign_in_entropy()?;
            self.run(Call::sign_in(self.session.call_inputs(), options, entropy)) $($dot_await)*
        }

        /// Completes the sign-in with the URL the provider redirected to (query included).
        /// Returns the verified ID token's claims.
        pub $($async_kw)* fn handle_sign_in_callback(
            &self,
            callback_url: &str,
        ) -> Result<IdTokenClaims, Error> {
            self.run(Call::handle_sign_in_callback(self.session.call_inputs(), callback_url)) $($dot_await)*
        }

        /// Starts a device sign-in (OAuth 2.0 Device Authorization Grant, RFC 8628), for a
        /// device or a command-line tool that cannot receive a callback: returns what to show
        /// the user (the user code and where to enter it, or the link with the code filled
        /// in) and what [`complete_device_sign_in`](Self::complete_device_sign_in) polls
        /// with. Asks for the config's scopes and resources; the app is a Logto native app.
        /// The stored session is not touched.
        pub $($async_kw)* fn start_device_sign_in(&self) -> Result<DeviceAuthorization, Error> {
            self.run(Call::start_device_sign_in(self.session.call_inputs())) $($dot_await)*
        }

        /// Waits until the user has signed in on the verification page, polling at the
        /// provider's interval (slowed down when it asks, never past the codes' expiry), then
        /// stores the new session like a sign-in callback: every later call (tokens,
        /// organization tokens, refresh) works on it. The user refusing is
        /// `Error::Protocol(Device(Denied(..)))`, the codes expiring
        /// `Error::Protocol(Device(Expired { .. }))`; the stored session is then unchanged.
        pub $($async_kw)* fn complete_device_sign_in(
            &self,
            device: &DeviceAuthorization,
        ) -> Result<IdTokenClaims, Error> {
            self.complete_device_sign_in_or_cancel(device, &Cancel::new()) $($dot_await)*
        }

        /// [`complete_device_sign_in`](Self::complete_device_sign_in) that stops waiting
        /// soon after `cancel` is cancelled (from another thread or task), with
        /// `Error::Protocol(Device(Cancelled))`.
        pub $($async_kw)* fn complete_device_sign_in_or_cancel(
            &self,
            device: &DeviceAuthorization,
            cancel: &Cancel,
        ) -> Result<IdTokenClaims, Error> {
            let call = Call::complete_device_sign_in(self.session.call_inputs(), device.clone());
            self.run_until(call, Some(cancel)) $($dot_await)*
        }

        /// Trades a token at the token endpoint (OAuth 2.0 Token Exchange, RFC 8693): a
        /// user's personal access token, an impersonation subject token from the Management
        /// API, or an access token, optionally with an actor token (the issued token's `act`
        /// names the actor). Returns the issued access token; nothing is cached or stored.
        /// The app must be allowed token exchange in Logto
        /// (`Error::Protocol(TokenExchange(NotAllowed(..)))` otherwise).
        pub $($async_kw)* fn exchange_token(
            &self,
            exchange: TokenExchange,
        ) -> Result<AccessToken, Error> {
            self.run(Call::exchange_token(self.session.call_inputs(), exchange)) $($dot_await)*
        }

        /// Signs out: clears the session, revokes the refresh token (a failure there does not
        /// stop the sign-out) and returns the end-session URL to send the user to.
        pub $($async_kw)* fn sign_out(
            &self,
            post_logout_redirect_uri: Option<&str>,
        ) -> Result<String, Error> {
            let result = self.sign_out_with_result(post_logout_redirect_uri) $($dot_await)*;
            Ok(result?.end_session_url)
        }

        /// [`sign_out`](Self::sign_out), also telling how the revocation went.
        pub $($async_kw)* fn sign_out_with_result(
            &self,
            post_logout_redirect_uri: Option<&str>,
        ) -> Result<SignOutResult, Error> {
            self.run(Call::sign_out(self.session.call_inputs(), post_logout_redirect_uri)) $($dot_await)*
        }

        /// Verifies a back-channel logout request (OpenID Connect Back-Channel Logout 1.0)
        /// from its form body, as the provider POSTs it to the app's back-channel logout URI.
        /// Returns which sessions to end ([`LogoutTarget`](logto_proto::resource::LogoutTarget)) and the
        /// `jti` to remember against replays
        /// ([`BackchannelLogout::replay_key`](logto_proto::resource::BackchannelLogout::replay_key));
        /// a refused request is `Error::Protocol(LogoutToken(..))` (answer 400). This client's
        /// session is not read or written.
        pub $($async_kw)* fn handle_backchannel_logout(
            &self,
            form_body: &[u8],
        ) -> Result<BackchannelLogout, Error> {
            self.run(Call::handle_backchannel_logout(self.session.call_inputs(), form_body)) $($dot_await)*
        }

        /// A machine-to-machine token for `target`, fetched now (client credentials with the
        /// app secret; not cached: `MachineClient` caches). This client's session is not
        /// read or written.
        pub $($async_kw)* fn fetch_machine_token(
            &self,
            target: TokenTarget,
        ) -> Result<AccessToken, Error> {
            self.run(Call::fetch_machine_token(self.session.call_inputs(), target)) $($dot_await)*
        }

        /// Verifies the bearer token of an `Authorization` header value presented to an API,
        /// now (not cached: `ApiValidator` caches and authorizes). This client's session is
        /// not read or written.
        pub $($async_kw)* fn verify_access_token(
            &self,
            authorization: Option<&str>,
        ) -> Result<VerifiedAccessToken, Error> {
            self.run(Call::verify_access_token(self.session.call_inputs(), authorization)) $($dot_await)*
        }

        /// The time on this client's clock.
        pub fn now(&self) -> UnixTime {
            self.session.now()
        }

        /// Whether the session holds an ID token (a sign-in completed, no sign-out since).
        pub $($async_kw)* fn is_authenticated(&self) -> Result<bool, Error> {
            Ok(self.load() $($dot_await)* ?.is_authenticated())
        }

        /// The raw ID token.
        pub $($async_kw)* fn id_token(&self) -> Result<Option<String>, Error> {
            let snapshot = self.load() $($dot_await)* ?;
            Ok(snapshot.id_token().map(|t| t.expose().to_owned()))
        }

        /// The claims of the ID token (verified when it was stored).
        pub $($async_kw)* fn id_token_claims(&self) -> Result<IdTokenClaims, Error> {
            Ok(self.load() $($dot_await)* ?.id_token_claims()?)
        }

        /// The refresh token.
        pub $($async_kw)* fn refresh_token(&self) -> Result<Option<String>, Error> {
            let snapshot = self.load() $($dot_await)* ?;
            Ok(snapshot.refresh_token().map(|t| t.expose().to_owned()))
        }

        /// The userinfo claims (with a fresh access token, refreshed if needed).
        pub $($async_kw)* fn fetch_user_info(&self) -> Result<UserInfo, Error> {
            self.run(Call::fetch_user_info(self.session.call_inputs())) $($dot_await)*
        }

        /// An access token for an API resource (`""`: the token for the userinfo endpoint).
        pub $($async_kw)* fn access_token(&self, resource: &str) -> Result<String, Error> {
            let token = self.token_for(&TokenTarget::resource(resource)) $($dot_await)* ?;
            Ok(token.token.expose().to_owned())
        }

        /// The claims of [`access_token`](Self::access_token) (an opaque token gives
        /// `Error::Protocol(Claims(NotAJwt))`).
        pub $($async_kw)* fn access_token_claims(
            &self,
            resource: &str,
        ) -> Result<AccessTokenClaims, Error> {
            let token = self.access_token(resource) $($dot_await)* ?;
            decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
        }

        /// An organization token (needs the organizations scope).
        pub $($async_kw)* fn organization_token(
            &self,
            organization_id: &str,
        ) -> Result<String, Error> {
            let target = TokenTarget::organization(organization_id);
            let token = self.token_for(&target) $($dot_await)* ?;
            Ok(token.token.expose().to_owned())
        }

        /// The claims of [`organization_token`](Self::organization_token).
        pub $($async_kw)* fn organization_token_claims(
            &self,
            organization_id: &str,
        ) -> Result<OrganizationTokenClaims, Error> {
            let token = self.organization_token(organization_id) $($dot_await)* ?;
            decode_claims(&token).map_err(|e| Error::Protocol(e.into()))
        }

        /// An organization-scoped API token: the resource's token with the organization's
        /// permissions and an `organization_id` claim.
        pub $($async_kw)* fn access_token_for(
            &self,
            resource: &str,
            organization_id: &str,
        ) -> Result<String, Error> {
            let target = TokenTarget::resource_in_organization(resource, organization_id);
            let token = self.token_for(&target) $($dot_await)* ?;
            Ok(token.token.expose().to_owned())
        }

        /// The token for any target (a resource, an organization, both, with narrowed
        /// scopes), with its scope and expiry: the cached one while fresh, else refreshed.
        /// `MachineClient::token_for` is its machine-to-machine twin.
        pub $($async_kw)* fn token_for(&self, target: &TokenTarget) -> Result<AccessToken, Error> {
            self.run(Call::access_token(self.session.call_inputs(), target.clone(), false)) $($dot_await)*
        }

        /// The token for `target`, refreshed now whatever the cache holds (after a change of
        /// the user's roles, say).
        pub $($async_kw)* fn refreshed_token_for(
            &self,
            target: &TokenTarget,
        ) -> Result<AccessToken, Error> {
            self.run(Call::access_token(self.session.call_inputs(), target.clone(), true)) $($dot_await)*
        }

        /// The token for any target; `force_refresh` skips the cache.
        #[deprecated(
            since = "0.2.0",
            note = "use `token_for(&target)`, or `refreshed_token_for(&target)` for `force_refresh`"
        )]
        pub $($async_kw)* fn token(
            &self,
            target: TokenTarget,
            force_refresh: bool,
        ) -> Result<AccessToken, Error> {
            self.run(Call::access_token(self.session.call_inputs(), target, force_refresh)) $($dot_await)*
        }

        /// Forgets the cached token for `target`; the next request refreshes it.
        pub $($async_kw)* fn clear_access_token(&self, target: &TokenTarget) -> Result<(), Error> {
            let call = Call::clear_access_tokens(self.session.call_inputs(), Some(target.clone()));
            self.run(call) $($dot_await)*
        }

        /// Forgets every cached access token (ID and refresh tokens stay).
        pub $($async_kw)* fn clear_access_tokens(&self) -> Result<(), Error> {
            self.run(Call::clear_access_tokens(self.session.call_inputs(), None)) $($dot_await)*
        }

        /// Deletes the stored session, e.g. after
        /// [`StorageError::Corrupt`](logto_proto::StorageError::Corrupt): whatever it holds,
        /// unreadable or not.
        pub $($async_kw)* fn clear_session(&self) -> Result<(), Error> {
            self.write_stored(Expected::Any, None) $($dot_await)* ?;
            Ok(())
        }

        /// The stored session's snapshot, parsed once per stored text.
        $($async_kw)* fn load(&self) -> Result<Arc<Snapshot>, Error> {
            let stored = self.read_stored() $($dot_await)* ?;
            self.session.parse(stored.as_deref())
        }

        /// The driver loop: performs each step of a core call and feeds the result back. The
        /// core decides everything; this only moves bytes, time and storage values.
        ///
        /// - Provider documents (discovery, JWKS) are fetched one at a time per endpoint, and a
        ///   call is first offered what another one fetched meanwhile.
        /// - Writes of one session are made one at a time in this process (the session lock),
        ///   so that a compare-and-swap is atomic here even over a store whose own is not.
        $($async_kw)* fn run<T>(&self, call: Call<'_, T>) -> Result<T, Error> {
            self.run_until(call, None) $($dot_await)*
        }

        /// [`run`](Self::run), giving up at a wait once `cancel` is cancelled.
        $($async_kw)* fn run_until<T>(
            &self,
            mut call: Call<'_, T>,
            cancel: Option<&Cancel>,
        ) -> Result<T, Error> {
            let session = &self.session;
            let mut failed: Option<TransportError> = None;
            loop {
                let step = match call.step(session.now()) {
                    Ok(step) => step,
                    Err(logto_proto::Error::RequestFailed) => {
                        return Err(failed.map_or(
                            Error::Protocol(logto_proto::Error::RequestFailed),
                            Error::Transport,
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                match step {
                    CallStep::Done(value) => return Ok(value),
                    CallStep::ReadSession => {
                        let stored = match self.read_stored() $($dot_await)* {
                            Ok(stored) => stored,
                            // A rotated refresh token to merge: the call waits and reads again.
                            Err(_) if call.handle_read_failed(session.now()) => continue,
                            Err(e) => return Err(e.into()),
                        };
                        match session.peek(stored.as_deref()) {
                            Some(parsed) => call.handle_read_parsed(stored, parsed, session.now())?,
                            None => {
                                let mut reader = session.reader_mut();
                                call.handle_read(stored, &mut reader, session.now())?
                            }
                        }
                    }
                    CallStep::WriteSession { expected, new } => {
                        let expected = Expected::from(expected.as_deref());
                        match self.write_stored(expected, new.as_deref()) $($dot_await)* {
                            Ok(written) => call.handle_written(written, session.now())?,
                            // A rotated refresh token: the call waits and writes again.
                            Err(_) if call.handle_write_failed(session.now()) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                    CallStep::Wait(duration) => {
                        match cancel {
                            Some(cancel) => {
                                // In slices, so that a cancel is seen soon.
                                let mut left = duration;
                                while !left.is_zero() {
                                    if cancel.is_cancelled() {
                                        return Err(Error::Protocol(logto_proto::errors::DeviceError::Cancelled.into()));
                                    }
                                    let slice = left.min(crate::CANCEL_CHECK);
                                    self.pause(slice) $($dot_await)*;
                                    left -= slice;
                                }
                            }
                            None => self.pause(duration) $($dot_await)*,
                        }
                        call.handle_waited(session.now())?;
                    }
                    CallStep::Send(request) => {
                        // Provider documents: one fetch at a time per endpoint, and what
                        // another call fetched meanwhile is offered first.
                        let fetching = match call.fetches_provider_data() {
                            true => Some(self.lock_fetching() $($dot_await)*),
                            false => None,
                        };
                        if fetching.is_some() && call.handle_shared_cache(&session.cache(), session.now()) {
                            continue;
                        }
                        match self.send(request) $($dot_await)* {
                            Ok(response) => call.handle_response(response, session.now())?,
                            Err(e) => {
                                #[cfg(feature = "tracing")]
                                tracing::warn!(host = %e.host, kind = ?e.kind, "request failed: {e}");
                                failed = Some(e);
                                let _ = call.handle_transport_error(session.now());
                            }
                        }
                        if fetching.is_some() {
                            session.merge_cache(call.provider_cache());
                        }
                    }
                    _ => {
                        return Err(
                            logto_proto::Error::Usage("a step this driver does not know").into(),
                        )
                    }
                }
            }
        }
    };
}

pub(crate) use client_methods;
