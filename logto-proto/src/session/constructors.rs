//! The calls of the client API: each one's name, store policy, cached answer and operation.
//!
//! | call | policy ([`Policy`]) | answered from the session as read |
//! | --- | --- | --- |
//! | `access_token` | `Leased`: refreshes under the lease | a fresh cached token, unless forced |
//! | `fetch_user_info` | `Leased` | no |
//! | `sign_in`, `handle_sign_in_callback`, `clear_access_tokens` | `Plain` | no |
//! | `sign_out` | `WriteFirst`: the session is cleared before the revocation | no |
//! | `complete_device_sign_in` | `Replace`: the new session replaces what is stored | no |
//! | `verify_access_token`, `fetch_machine_token`, `handle_backchannel_logout`, `start_device_sign_in`, `exchange_token` | `Sessionless`: no read, no write | no |

use super::*;

impl<'a> Call<'a, AccessToken> {
    /// An access token for `target` (see [`Context::access_token`](crate::Context::access_token)).
    /// A fresh cached token is answered from the session as read, with nothing copied.
    pub fn access_token(inputs: CallInputs<'a>, target: TokenTarget, force_refresh: bool) -> Self {
        let config = inputs.config;
        let cached_target = target.clone();
        let peek: Option<Peek<'a, AccessToken>> = (!force_refresh).then(|| {
            Box::new(move |snapshot: &Snapshot, now| {
                crate::ops::cached_token(config, snapshot, &cached_target, now)
            }) as Peek<'a, AccessToken>
        });
        Call::new(
            inputs,
            "access_token",
            Policy::Leased,
            peek,
            move |values, refresh| {
                let op = values.access_token(target.clone(), force_refresh);
                if refresh {
                    op
                } else {
                    op.without_refresh()
                }
            },
        )
    }
}

impl<'a> Call<'a, UserInfo> {
    /// The userinfo claims (see [`Context::fetch_user_info`](crate::Context::fetch_user_info)).
    pub fn fetch_user_info(inputs: CallInputs<'a>) -> Self {
        Call::new(
            inputs,
            "fetch_user_info",
            Policy::Leased,
            None,
            |values, refresh| {
                let op = values.fetch_user_info();
                if refresh {
                    op
                } else {
                    op.without_refresh()
                }
            },
        )
    }
}

impl<'a> Call<'a, String> {
    /// Starts a sign-in (see [`Context::sign_in`](crate::Context::sign_in)).
    pub fn sign_in(inputs: CallInputs<'a>, options: SignInOptions, entropy: SignInEntropy) -> Self {
        Call::new(inputs, "sign_in", Policy::Plain, None, move |values, _| {
            values.sign_in(options.clone(), entropy.clone())
        })
    }
}

impl<'a> Call<'a, IdTokenClaims> {
    /// Completes a sign-in (see
    /// [`Context::handle_sign_in_callback`](crate::Context::handle_sign_in_callback)).
    pub fn handle_sign_in_callback(inputs: CallInputs<'a>, callback_url: &str) -> Self {
        let url = callback_url.to_owned();
        Call::new(
            inputs,
            "handle_sign_in_callback",
            Policy::Plain,
            None,
            move |values, _| values.handle_sign_in_callback(url.clone()),
        )
    }
}

impl<'a> Call<'a, SignOutResult> {
    /// Signs out (see [`Context::sign_out`](crate::Context::sign_out)): the stored session is
    /// cleared first, then the refresh token it held is revoked.
    pub fn sign_out(inputs: CallInputs<'a>, post_logout_redirect_uri: Option<&str>) -> Self {
        let uri = post_logout_redirect_uri.map(str::to_owned);
        Call::new(
            inputs,
            "sign_out",
            Policy::WriteFirst,
            None,
            move |values, _| values.sign_out(uri.as_deref()),
        )
    }
}

impl<'a> Call<'a, ()> {
    /// Forgets the cached token for `target` (`None`: every cached access token).
    pub fn clear_access_tokens(inputs: CallInputs<'a>, target: Option<TokenTarget>) -> Self {
        Call::new(
            inputs,
            "clear_access_tokens",
            Policy::Plain,
            None,
            move |values, _| values.clear_access_tokens(target.clone()),
        )
    }
}

impl<'a> Call<'a, crate::access::VerifiedAccessToken> {
    /// Verifies a bearer access token presented to an API (see
    /// [`Context::verify_access_token`](crate::Context::verify_access_token)). The call
    /// never reads or writes a session: it only fetches the provider's keys when needed.
    pub fn verify_access_token(inputs: CallInputs<'a>, authorization: Option<&str>) -> Self {
        let token = crate::access::bearer_token(authorization).map(str::to_owned);
        Call::new(
            inputs,
            "verify_access_token",
            Policy::Sessionless,
            None,
            move |values, _| values.verify_access_token(token.clone()),
        )
    }
}

impl<'a> Call<'a, AccessToken> {
    /// A machine-to-machine token (see
    /// [`Context::fetch_machine_token`](crate::Context::fetch_machine_token)). The call never
    /// reads or writes a session.
    pub fn fetch_machine_token(inputs: CallInputs<'a>, target: TokenTarget) -> Self {
        Call::new(
            inputs,
            "fetch_machine_token",
            Policy::Sessionless,
            None,
            move |values, _| values.fetch_machine_token(target.clone()),
        )
    }
}

impl<'a> Call<'a, BackchannelLogout> {
    /// Verifies a back-channel logout request from its form body (see
    /// [`Context::handle_backchannel_logout`](crate::Context::handle_backchannel_logout)).
    /// The call never reads or writes the session: it only fetches the provider's keys when
    /// needed, through the shared cache.
    pub fn handle_backchannel_logout(inputs: CallInputs<'a>, form_body: &[u8]) -> Self {
        let token = crate::logout::logout_token_from_form(form_body);
        Call::new(
            inputs,
            "handle_backchannel_logout",
            Policy::Sessionless,
            None,
            move |values, _| values.handle_backchannel_logout(token.clone()),
        )
    }
}

impl<'a> Call<'a, crate::device::DeviceAuthorization> {
    /// Starts a device sign-in (see
    /// [`Context::start_device_sign_in`](crate::Context::start_device_sign_in)). The call
    /// never reads or writes the session.
    pub fn start_device_sign_in(inputs: CallInputs<'a>) -> Self {
        Call::new(
            inputs,
            "start_device_sign_in",
            Policy::Sessionless,
            None,
            |values, _| values.start_device_sign_in(),
        )
    }
}

impl<'a> Call<'a, IdTokenClaims> {
    /// Completes a device sign-in (see
    /// [`Context::complete_device_sign_in`](crate::Context::complete_device_sign_in)). The
    /// polling touches no store; once the user has signed in, the new session replaces
    /// whatever is stored (read, then compare-and-swap, again after a conflict). A sign-in
    /// that fails or is abandoned leaves the stored session as it was.
    pub fn complete_device_sign_in(
        inputs: CallInputs<'a>,
        device: crate::device::DeviceAuthorization,
    ) -> Self {
        Call::new(
            inputs,
            "complete_device_sign_in",
            Policy::Replace,
            None,
            move |values, _| values.complete_device_sign_in(device.clone()),
        )
    }
}

impl<'a> Call<'a, AccessToken> {
    /// Trades a token (see [`Context::exchange_token`](crate::Context::exchange_token)). The
    /// call never reads or writes a session.
    pub fn exchange_token(
        inputs: CallInputs<'a>,
        exchange: crate::exchange::TokenExchange,
    ) -> Self {
        Call::new(
            inputs,
            "exchange_token",
            Policy::Sessionless,
            None,
            move |values, _| values.exchange_token(exchange.clone()),
        )
    }
}
