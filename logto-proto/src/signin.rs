//! The sign-in URL, the callback check, and the sign-out URL: plain functions, no network.

use crate::config::{Config, Prompt};
use crate::error::{CallbackError, Error, SignInError};
use crate::jwt::b64_encode;
use crate::metadata::ProviderMetadata;
use crate::secret::Secret;
use crate::snapshot::{PendingSignIn, Snapshot};
use crate::time::UnixTime;
use sha2::{Digest, Sha256};
use std::fmt;
use url::Url;

/// Parameters the SDK sets itself; extra parameters may not override them.
pub const RESERVED_PARAMETERS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "state",
    "nonce",
    "resource",
    "request",
    "request_uri",
    "interaction_mode",
    "first_screen",
    "identifier",
    "direct_sign_in",
    "login_hint",
    "ui_locales",
    "organization_id",
];

/// Which screen of Logto's sign-in experience comes first (Logto's `interaction_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractionMode {
    /// `signIn`.
    SignIn,
    /// `signUp`: the registration screen.
    SignUp,
}

impl InteractionMode {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            InteractionMode::SignIn => "signIn",
            InteractionMode::SignUp => "signUp",
        }
    }
}

/// Logto's `first_screen`: which page of the sign-in experience opens first. Each variant
/// is named after the page it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstScreen {
    /// `sign_in`: the sign-in page with every sign-in method (Logto's default).
    SignIn,
    /// `register`: the registration (create account) page with every sign-up method.
    Register,
    /// `reset_password`: the forgot-password page.
    ResetPassword,
    /// `identifier:sign_in`: the identifier-only sign-in page (only the identifier fields
    /// given with [`SignInOptions::identifiers`], no social or SSO buttons).
    IdentifierSignIn,
    /// `identifier:register`: the identifier-only registration page (only the identifier
    /// fields given with [`SignInOptions::identifiers`]).
    IdentifierRegister,
    /// `single_sign_on`: the enterprise single sign-on page.
    SingleSignOn,
}

impl FirstScreen {
    /// Every value, in the order of Logto's documentation.
    pub const ALL: [FirstScreen; 6] = [
        FirstScreen::SignIn,
        FirstScreen::Register,
        FirstScreen::ResetPassword,
        FirstScreen::IdentifierSignIn,
        FirstScreen::IdentifierRegister,
        FirstScreen::SingleSignOn,
    ];

    /// The value on the wire.
    ///
    /// ```
    /// use logto_proto::FirstScreen;
    /// assert_eq!(FirstScreen::Register.as_str(), "register");
    /// assert_eq!(FirstScreen::IdentifierRegister.as_str(), "identifier:register");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FirstScreen::SignIn => "sign_in",
            FirstScreen::Register => "register",
            FirstScreen::ResetPassword => "reset_password",
            FirstScreen::IdentifierSignIn => "identifier:sign_in",
            FirstScreen::IdentifierRegister => "identifier:register",
            FirstScreen::SingleSignOn => "single_sign_on",
        }
    }
}

/// A sign-in identifier type shown on the first screen (Logto's `identifier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identifier {
    /// `email`.
    Email,
    /// `phone`.
    Phone,
    /// `username`.
    Username,
}

impl Identifier {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Identifier::Email => "email",
            Identifier::Phone => "phone",
            Identifier::Username => "username",
        }
    }
}

/// Skip Logto's sign-in page and go straight to a social or enterprise-SSO connector.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectSignIn {
    /// `social:<connector target>`, e.g. `social:google`.
    Social(String),
    /// `sso:<connector id>`.
    Sso(String),
}

impl DirectSignIn {
    fn wire(&self) -> String {
        match self {
            DirectSignIn::Social(t) => format!("social:{t}"),
            DirectSignIn::Sso(t) => format!("sso:{t}"),
        }
    }
}

/// The options of one sign-in.
///
/// ```
/// use logto_proto::{SignInOptions, InteractionMode, Identifier};
/// let options = SignInOptions::new("https://app.example.com/callback")
///     .interaction_mode(InteractionMode::SignUp)
///     .identifiers([Identifier::Email])
///     .login_hint("alice@example.com");
/// assert_eq!(options.redirect_uri(), "https://app.example.com/callback");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct SignInOptions {
    redirect_uri: String,
    prompt: Option<Vec<Prompt>>,
    interaction_mode: Option<InteractionMode>,
    first_screen: Option<FirstScreen>,
    identifiers: Vec<Identifier>,
    direct_sign_in: Option<DirectSignIn>,
    login_hint: Option<String>,
    ui_locales: Option<String>,
    organization_id: Option<String>,
    extra_params: Vec<(String, String)>,
}

impl fmt::Debug for SignInOptions {
    // The login hint names the user and extra parameters may carry one-time tokens: `Debug`
    // shows whether they are set and the extra parameters' names, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<&str> = self.extra_params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("SignInOptions")
            .field("redirect_uri", &self.redirect_uri)
            .field("prompt", &self.prompt)
            .field("interaction_mode", &self.interaction_mode)
            .field("first_screen", &self.first_screen)
            .field("identifiers", &self.identifiers)
            .field("direct_sign_in", &self.direct_sign_in)
            .field("login_hint", &self.login_hint.as_ref().map(|_| "***"))
            .field("ui_locales", &self.ui_locales)
            .field("organization_id", &self.organization_id)
            .field("extra_params", &extra)
            .finish()
    }
}

impl SignInOptions {
    /// A sign-in that comes back to `redirect_uri` (registered in Logto).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        SignInOptions {
            redirect_uri: redirect_uri.into(),
            prompt: None,
            interaction_mode: None,
            first_screen: None,
            identifiers: Vec::new(),
            direct_sign_in: None,
            login_hint: None,
            ui_locales: None,
            organization_id: None,
            extra_params: Vec::new(),
        }
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The same options with another redirect URI (a native app's loopback redirect, whose
    /// port is known only once it listens).
    pub fn with_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = redirect_uri.into();
        self
    }

    /// Overrides the config's prompt set for this sign-in.
    pub fn prompt(mut self, prompt: impl IntoIterator<Item = Prompt>) -> Self {
        self.prompt = Some(prompt.into_iter().collect());
        self
    }

    /// `interaction_mode`: open on the sign-in or the sign-up screen.
    pub fn interaction_mode(mut self, mode: InteractionMode) -> Self {
        self.interaction_mode = Some(mode);
        self
    }

    /// `first_screen`.
    pub fn first_screen(mut self, screen: FirstScreen) -> Self {
        self.first_screen = Some(screen);
        self
    }

    /// `identifier`: the identifier types shown on the first screen.
    pub fn identifiers(mut self, identifiers: impl IntoIterator<Item = Identifier>) -> Self {
        self.identifiers = identifiers.into_iter().collect();
        self
    }

    /// `direct_sign_in`.
    pub fn direct_sign_in(mut self, target: DirectSignIn) -> Self {
        self.direct_sign_in = Some(target);
        self
    }

    /// `login_hint`: prefills the identifier.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// `ui_locales`: the sign-in page's language(s), space-separated.
    pub fn ui_locales(mut self, locales: impl Into<String>) -> Self {
        self.ui_locales = Some(locales.into());
        self
    }

    /// `organization_id`: the organization's sign-in experience (it does not give an
    /// organization token).
    pub fn organization_id(mut self, id: impl Into<String>) -> Self {
        self.organization_id = Some(id.into());
        self
    }

    /// Adds a parameter the SDK does not model (e.g. `one_time_token`). A reserved name
    /// makes [`sign_in_url`] fail.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }
}

/// The random bytes one sign-in needs, supplied by the caller (the core has no RNG).
#[derive(Clone, PartialEq, Eq)]
pub struct SignInEntropy {
    /// For `state`.
    pub state: [u8; 32],
    /// For the PKCE verifier.
    pub code_verifier: [u8; 32],
    /// For `nonce`.
    pub nonce: [u8; 32],
}

impl SignInEntropy {
    /// Splits 96 random bytes into state, verifier and nonce.
    pub fn from_bytes(bytes: [u8; 96]) -> Self {
        let mut e = SignInEntropy {
            state: [0; 32],
            code_verifier: [0; 32],
            nonce: [0; 32],
        };
        e.state.copy_from_slice(&bytes[..32]);
        e.code_verifier.copy_from_slice(&bytes[32..64]);
        e.nonce.copy_from_slice(&bytes[64..]);
        e
    }
}

impl fmt::Debug for SignInEntropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignInEntropy(***)")
    }
}

/// base64url(SHA-256(verifier)): the PKCE S256 challenge.
///
/// ```
/// assert_eq!(
///     logto_proto::internals::code_challenge("12345678901234567890123456789012345678901234567890"),
///     "9Y__uhKapn7GO_ElcaQpd8C3hdOyqTzAU4VXyR2iEV0"
/// );
/// ```
pub fn code_challenge(verifier: &str) -> String {
    b64_encode(&Sha256::digest(verifier.as_bytes()))
}

fn parse_redirect_uri(redirect_uri: &str) -> Result<Url, SignInError> {
    let invalid = || SignInError::InvalidRedirectUri {
        redirect_uri: redirect_uri.to_owned(),
    };
    let url = Url::parse(redirect_uri).map_err(|_| invalid())?;
    if url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(invalid());
    }
    Ok(url)
}

/// Builds the authorization URL, records the pending sign-in in `snapshot` and clears its
/// tokens (a new sign-in replaces the session).
///
/// Parameters, in this order: `client_id`, `redirect_uri`, `response_type=code`, `scope`,
/// `prompt`, `code_challenge`, `code_challenge_method=S256`, `state`, `nonce`, each
/// `resource`, then Logto's `interaction_mode`, `first_screen`, `identifier`,
/// `direct_sign_in`, `login_hint`, `ui_locales`, `organization_id`, then the extra ones.
pub fn sign_in_url(
    config: &Config,
    metadata: &ProviderMetadata,
    snapshot: &mut Snapshot,
    options: &SignInOptions,
    entropy: &SignInEntropy,
    now: UnixTime,
) -> Result<String, Error> {
    for (name, _) in &options.extra_params {
        if RESERVED_PARAMETERS.contains(&name.as_str()) {
            return Err(SignInError::ReservedParameter { name: name.clone() }.into());
        }
    }
    parse_redirect_uri(&options.redirect_uri)?;
    let endpoint = &metadata.authorization_endpoint;
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(SignInError::InvalidAuthorizationEndpoint {
            endpoint: endpoint.clone(),
        }
        .into());
    }

    let state = b64_encode(&entropy.state);
    let verifier = b64_encode(&entropy.code_verifier);
    let nonce = b64_encode(&entropy.nonce);
    let prompt = options.prompt.as_deref().unwrap_or(config.prompt());
    // The query is written straight into the URL string; the parts that come from the config
    // (client id, scopes, resources) were form-encoded once when the config was built.
    let mut url = String::with_capacity(endpoint.len() + 512);
    url.push_str(endpoint);
    url.push(if endpoint.contains('?') { '&' } else { '?' });
    let encoded = config.encoded();
    url.push_str("client_id=");
    url.push_str(&encoded.client_id);
    pair(&mut url, "redirect_uri", &options.redirect_uri);
    url.push_str("&response_type=code");
    if !config.scopes().is_empty() {
        url.push_str("&scope=");
        url.push_str(&encoded.scope);
    }
    if !prompt.is_empty() {
        let joined: Vec<&str> = prompt.iter().map(|p| p.as_str()).collect();
        pair(&mut url, "prompt", &joined.join(" "));
    }
    pair(&mut url, "code_challenge", &code_challenge(&verifier));
    url.push_str("&code_challenge_method=S256");
    pair(&mut url, "state", &state);
    pair(&mut url, "nonce", &nonce);
    url.push_str(&encoded.resources);
    if let Some(m) = options.interaction_mode {
        pair(&mut url, "interaction_mode", m.as_str());
    }
    if let Some(s) = options.first_screen {
        pair(&mut url, "first_screen", s.as_str());
    }
    if !options.identifiers.is_empty() {
        let ids: Vec<&str> = options.identifiers.iter().map(|i| i.as_str()).collect();
        pair(&mut url, "identifier", &ids.join(" "));
    }
    if let Some(d) = &options.direct_sign_in {
        pair(&mut url, "direct_sign_in", &d.wire());
    }
    if let Some(h) = &options.login_hint {
        pair(&mut url, "login_hint", h);
    }
    if let Some(l) = &options.ui_locales {
        pair(&mut url, "ui_locales", l);
    }
    if let Some(o) = &options.organization_id {
        pair(&mut url, "organization_id", o);
    }
    for (k, v) in &options.extra_params {
        pair(&mut url, k, v);
    }

    snapshot.clear_tokens();
    snapshot.pending = Some(PendingSignIn {
        state: Secret::new(state),
        code_verifier: Secret::new(verifier),
        nonce: Secret::new(nonce),
        redirect_uri: options.redirect_uri.clone(),
        created_at: now,
        used_code: None,
    });
    Ok(url)
}

/// Appends `&key=value`, form-urlencoded (spaces as `+`).
fn pair(url: &mut String, key: &str, value: &str) {
    url.push('&');
    url.extend(url::form_urlencoded::byte_serialize(key.as_bytes()));
    url.push('=');
    url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
}

/// The scheme, host, port and path of a URL: what a callback must share with the redirect
/// URI (query and fragment are ignored).
fn redirect_target(url: &Url) -> (String, Option<String>, Option<u16>, String) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_owned),
        url.port_or_known_default(),
        url.path().to_owned(),
    )
}

fn display_target(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.into()
}

/// The code of a callback that passed every check.
pub(crate) struct AcceptedCallback {
    pub code: String,
    pub code_hash: String,
}

/// Checks a callback URL against the pending sign-in: exact redirect target, `state` first
/// (constant time), then `error`, then `iss` (RFC 9207), then `code`.
pub(crate) fn check_callback(
    pending: &PendingSignIn,
    metadata: &ProviderMetadata,
    callback_url: &str,
) -> Result<AcceptedCallback, CallbackError> {
    let malformed = |reason: &str| CallbackError::Malformed {
        reason: reason.to_owned(),
    };
    let callback = Url::parse(callback_url).map_err(|e| malformed(&e.to_string()))?;
    let expected = Url::parse(&pending.redirect_uri)
        .map_err(|_| malformed("stored redirect URI is not a URL"))?;
    if redirect_target(&callback) != redirect_target(&expected) {
        return Err(CallbackError::RedirectUriMismatch {
            expected: display_target(&expected),
            found: display_target(&callback),
        });
    }

    let (mut state, mut code, mut error, mut description, mut iss) = (None, None, None, None, None);
    for (k, v) in callback.query_pairs() {
        let slot = match k.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            "iss" => &mut iss,
            _ => continue,
        };
        if slot.is_some() {
            return Err(malformed(&format!("`{k}` appears twice")));
        }
        *slot = Some(v.into_owned());
    }

    // The state is the CSRF check: nothing else in the callback is trusted before it.
    let state = state.ok_or(CallbackError::MissingState)?;
    if !pending.state.ct_eq(&state) {
        return Err(CallbackError::StateMismatch);
    }
    if let Some(error) = error {
        return Err(CallbackError::Provider { error, description });
    }
    // RFC 9207 §2.4: compare iss when present; require it when the provider announces it.
    match iss {
        Some(found) if found != metadata.issuer => {
            return Err(CallbackError::IssuerMismatch {
                expected: metadata.issuer.clone(),
                found: Some(found),
            })
        }
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(CallbackError::IssuerMismatch {
                expected: metadata.issuer.clone(),
                found: None,
            })
        }
        _ => {}
    }
    let code = code
        .filter(|c| !c.is_empty())
        .ok_or(CallbackError::MissingCode)?;
    let code_hash = b64_encode(&Sha256::digest(code.as_bytes()));
    if pending.used_code.as_deref() == Some(code_hash.as_str()) {
        return Err(CallbackError::CodeAlreadyUsed);
    }
    Ok(AcceptedCallback { code, code_hash })
}

/// The end-session URL: `client_id`, then `post_logout_redirect_uri` and `id_token_hint`
/// when given.
pub fn end_session_url(
    config: &Config,
    metadata: &ProviderMetadata,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
) -> Result<String, Error> {
    let endpoint = metadata.end_session_endpoint.as_deref().ok_or(
        crate::error::DiscoveryError::MissingEndpoint {
            name: "end_session_endpoint",
        },
    )?;
    let mut url = Url::parse(endpoint).map_err(|e| crate::error::DiscoveryError::Malformed {
        reason: format!("end_session_endpoint: {e}"),
    })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", config.app_id());
        if let Some(uri) = post_logout_redirect_uri {
            q.append_pair("post_logout_redirect_uri", uri);
        }
        if let Some(hint) = id_token_hint {
            q.append_pair("id_token_hint", hint);
        }
    }
    Ok(url.into())
}
