// Sign-in without a web server, as Logto serves it: the device flow's pages and polling
// pace (RFC 8628), and token exchange (RFC 8693) with personal access tokens, impersonation
// subject tokens and actor tokens.

import crypto from 'node:crypto';

import { errors } from 'oidc-provider';

import { escapeHtml } from './pages.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const PERSONAL_ACCESS_TOKEN_TYPE = 'urn:logto:token-type:personal_access_token';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** RFC 8628 §3.5: each `slow_down` adds this to the device code's interval. */
const SLOW_DOWN_STEP_S = 5;

const page = (title, body) => `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main>${body}</main></body>
</html>`;

/**
 * The device flow's pages: the user-code form, the confirmation (with Continue and Abort) and
 * the success page. Plain forms with named inputs and ids, so a browser or the Rust harness can
 * drive them.
 */
export const devicePages = {
  userCodeInputSource: async (ctx, form, _out, err) => {
    const message = err ? '<p id="error">The code is not valid. Try again.</p>' : '<p>Enter the code shown on your device.</p>';
    ctx.body = page('Device sign-in', `<h1>Device sign-in</h1>${message}${form}
<button id="continue" type="submit" form="op.deviceInputForm">Continue</button>`);
  },
  userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
    ctx.body = page('Confirm device', `<h1>Confirm device</h1>
<p>Sign in to <strong id="client">${escapeHtml(client.clientName || client.clientId)}</strong> with code <code id="user-code">${escapeHtml(userCode)}</code>?</p>
${form}
<button id="continue" type="submit" form="op.deviceConfirmForm">Continue</button>
<button id="abort" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
  },
  successSource: async (ctx) => {
    ctx.body = page('Device signed in', '<h1 id="device-signed-in">Your device is signed in</h1><p>You can close this page.</p>');
  },
};

/**
 * Logto's polling pace: the device authorization answer carries `interval`, and a poll of a
 * device code sooner than its interval after the last one is answered `slow_down`, which
 * grows that code's interval by 5 s.
 */
export class DevicePace {
  constructor(intervalS) {
    this.intervalS = intervalS;
    /** device code -> { lastMs, intervalS } */
    this.codes = new Map();
  }

  /**
   * The `slow_down` body for a poll at `nowMs` that comes too soon (or is `forced` to be
   * answered so), else undefined.
   */
  poll(deviceCode, nowMs, forced = false) {
    const code = this.codes.get(deviceCode) ?? { lastMs: undefined, intervalS: this.intervalS };
    this.codes.set(deviceCode, code);
    const early = code.lastMs !== undefined && nowMs - code.lastMs < code.intervalS * 1000;
    code.lastMs = nowMs;
    if (!early && !forced) return undefined;
    code.intervalS += SLOW_DOWN_STEP_S;
    return { error: 'slow_down', error_description: 'you are polling too quickly and should back off at a reasonable rate' };
  }

  clear() {
    this.codes.clear();
  }
}

/** The store of personal access tokens and impersonation subject tokens. */
export class SubjectTokens {
  constructor() {
    /** token -> { userId, expiresAtMs, kind, consumed } */
    this.tokens = new Map();
  }

  /** A user's personal access token (Logto: Console > User > Personal access tokens). */
  personalAccessToken(userId, expiresInS) {
    return this.#issue('pat', userId, expiresInS);
  }

  /** An impersonation subject token (Logto: Management API `POST /api/subject-tokens`). */
  subjectToken(userId, expiresInS = 600) {
    return this.#issue('sub', userId, expiresInS);
  }

  #issue(kind, userId, expiresInS) {
    const token = `${kind}_${crypto.randomBytes(24).toString('base64url')}`;
    const expiresAtMs = expiresInS ? Date.now() + expiresInS * 1000 : undefined;
    this.tokens.set(token, { userId, expiresAtMs, kind, consumed: false });
    return { token, expires_in: expiresInS ?? null };
  }

  /** The user a subject token stands for, as Logto's token exchange checks it. */
  take(token, tokenType) {
    const kind = { [PERSONAL_ACCESS_TOKEN_TYPE]: 'pat', [ACCESS_TOKEN_TYPE]: 'sub' }[tokenType];
    if (!kind) throw new errors.InvalidRequest('unsupported subject_token_type');
    const entry = this.tokens.get(token);
    if (!entry || entry.kind !== kind) throw new errors.InvalidGrant('subject token is invalid');
    if (entry.expiresAtMs !== undefined && Date.now() >= entry.expiresAtMs) throw new errors.InvalidGrant('subject token is expired');
    // An impersonation subject token is good for one exchange; a personal access token is not consumed.
    if (entry.kind === 'sub') {
      if (entry.consumed) throw new errors.InvalidGrant('subject token is already consumed');
      entry.consumed = true;
    }
    return entry.userId;
  }

  clear() {
    this.tokens.clear();
  }
}

/** Which actor an issued access token names (read by `extraTokenClaims`). */
export const tokenActors = new WeakMap();

/**
 * Registers Logto's token exchange grant. Only an app allowed to exchange tokens may (Logto:
 * per application, off by default): any other gets `unauthorized_client`. The answer holds an
 * access token only: no refresh token, no ID token.
 */
export function registerTokenExchange(provider, {
  subjectTokens, allowed, users, resources, userResourceScopes, organizationRoleScopes, isMember,
  resourceServerInfo, organizationResourceServer,
}) {
  const parameters = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'resource', 'organization_id', 'scope'];
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx) => {
    const { params, client } = ctx.oidc;
    if (!allowed(client)) throw new errors.UnauthorizedClient('token exchange is not allowed for this client');
    if (!params.subject_token || !params.subject_token_type) throw new errors.InvalidRequest('subject_token and subject_token_type are required');
    const userId = subjectTokens.take(params.subject_token, params.subject_token_type);
    const user = users.get(userId);
    if (!user) throw new errors.InvalidGrant('subject token user not found');

    let actor;
    if (params.actor_token) {
      if (params.actor_token_type && params.actor_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported actor_token_type');
      const found = await provider.AccessToken.find(params.actor_token);
      if (!found) throw new errors.InvalidGrant('actor token is invalid');
      actor = found.accountId ?? found.clientId;
    }

    const organizationId = params.organization_id || undefined;
    if (organizationId && !isMember(user, organizationId)) {
      const error = new errors.AccessDenied('user is not a member of the organization');
      error.statusCode = 403;
      error.status = 403;
      throw error;
    }
    const requested = params.scope ? new Set(String(params.scope).split(' ')) : undefined;
    let server;
    let available;
    if (params.resource) {
      if (!resources.has(params.resource)) throw new errors.InvalidTarget();
      available = userResourceScopes(user, params.resource, organizationId);
      server = new provider.ResourceServer(params.resource, { ...resourceServerInfo(resources.get(params.resource)), scope: available.join(' ') });
    } else if (organizationId) {
      available = organizationRoleScopes(user, organizationId);
      server = organizationResourceServer(organizationId, available);
    } else {
      throw new errors.InvalidTarget('resource or organization_id is required');
    }
    const issued = available.filter((scope) => !requested || requested.has(scope)).join(' ');

    const grant = new provider.Grant({ accountId: userId, clientId: client.clientId });
    const token = new provider.AccessToken({
      accountId: userId,
      client,
      grantId: await grant.save(),
      gty: 'token_exchange',
      scope: issued || undefined,
    });
    token.resourceServer = server;
    if (actor) tokenActors.set(token, actor);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: issued,
    };
  }, parameters);
}
