// Minimal HTML pages of the test provider: the sign-in form and the sign-out pages.
// Plain forms with named inputs, so both the Rust harness and a real browser can drive them.

export const escapeHtml = (value) => String(value ?? '')
  .replaceAll('&', '&amp;')
  .replaceAll('<', '&lt;')
  .replaceAll('>', '&gt;')
  .replaceAll('"', '&quot;')
  .replaceAll("'", '&#39;');

const dataAttribute = (name, value) => (value === undefined ? '' : ` data-${name}="${escapeHtml(value)}"`);

/**
 * The sign-in page. `data-*` attributes of `<main>` expose what the authorization request asked
 * for (first screen, interaction mode, login hint...), so a test can assert that it arrived.
 */
export function renderLoginPage({ uid, clientId, prompt, firstScreen, extraParams, identifier, error }) {
  const attributes = [
    dataAttribute('uid', uid),
    dataAttribute('client-id', clientId),
    dataAttribute('prompt', prompt),
    dataAttribute('first-screen', firstScreen),
    dataAttribute('interaction-mode', extraParams.interaction_mode),
    dataAttribute('login-hint', extraParams.login_hint),
    dataAttribute('ui-locales', extraParams.ui_locales),
    dataAttribute('direct-sign-in', extraParams.direct_sign_in),
    dataAttribute('identifier', extraParams.identifier),
    dataAttribute('organization-id', extraParams.organization_id),
  ].join('');
  const heading = firstScreen === 'register' ? 'Create your account' : 'Sign in';
  // The JSON sits in a script data block; escape "<" so it cannot close the tag.
  const paramsJson = JSON.stringify(extraParams).replaceAll('<', '\\u003c');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)}</title>
</head>
<body>
<main id="sign-in"${attributes}>
<h1>${escapeHtml(heading)}</h1>
<p id="client">Application: ${escapeHtml(clientId)}</p>
<p id="first-screen">First screen: ${escapeHtml(firstScreen)}</p>
${error ? `<p id="error" role="alert">${escapeHtml(error)}</p>\n` : ''}<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="identifier">Username, email or phone</label>
<input id="identifier" type="text" name="identifier" value="${escapeHtml(identifier)}" autocomplete="username" autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password">
<button id="submit" type="submit">Sign in</button>
</form>
<form id="cancel-form" method="post" action="/interaction/${escapeHtml(uid)}/abort">
<button id="cancel" type="submit">Cancel</button>
</form>
<script type="application/json" id="extra-params">${paramsJson}</script>
</main>
</body>
</html>
`;
}

/**
 * Logto's sign-out confirmation submits itself: the form oidc-provider gives carries `logout=yes`
 * and a script submits it. A client without JavaScript posts the form's hidden fields.
 */
export function renderLogoutPage(form) {
  const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing out</title></head>
<body>
<main id="sign-out">
${confirmed}
<button id="confirm-logout" type="submit" form="op.logoutForm">Sign out</button>
</main>
<script>document.getElementById('op.logoutForm').submit();</script>
</body>
</html>
`;
}

export function renderLogoutSuccessPage() {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signed out</title></head>
<body><main id="signed-out"><h1>You have signed out.</h1></main></body>
</html>
`;
}
