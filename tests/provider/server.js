// A Logto-compatible OpenID Connect provider for the logto-rs integration tests.
//
// Built on the `oidc-provider` package (the library Logto's server is built on) and configured to
// behave like Logto wherever a client can observe it. See README.md for the environment variables,
// the test controls under /__test/ and the users.

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import querystring from 'node:querystring';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

import { MemoryAdapter, storageStats } from './lib/adapter.js';
import {
  DEVICE_CODE_GRANT, DevicePace, SubjectTokens, TOKEN_EXCHANGE_GRANT, devicePages, registerTokenExchange,
  tokenActors,
} from './lib/native.js';
import { renderLoginPage, renderLogoutPage, renderLogoutSuccessPage } from './lib/pages.js';

// ---------------------------------------------------------------------------------------------
// Configuration (environment variables)
// ---------------------------------------------------------------------------------------------

const env = process.env;

function fail(message) {
  console.error(`test provider: ${message}`);
  process.exit(2);
}

function intEnv(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) fail(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

function listEnv(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.split(',').map((item) => item.trim()).filter(Boolean);
}

const SUPPORTED_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256'];

function checkAlg(alg, what) {
  if (!SUPPORTED_ALGS.includes(alg)) fail(`${what}: unsupported signing alg ${alg} (one of ${SUPPORTED_ALGS.join(', ')})`);
  return alg;
}

const ORGANIZATION_SCOPE = 'urn:logto:scope:organizations';
const ORGANIZATION_RESOURCE = 'urn:logto:resource:organizations';
const ORGANIZATION_URN_PREFIX = 'urn:logto:organization:';

const fixturesPath = env.FIXTURES || fileURLToPath(new URL('./fixtures.json', import.meta.url));
const fixtures = JSON.parse(readFileSync(fixturesPath, 'utf8'));

const accessTokenTtlOverride = env.ACCESS_TOKEN_TTL ? intEnv('ACCESS_TOKEN_TTL', 3600) : undefined;

const config = {
  port: intEnv('PORT', 0),
  alg: checkAlg(env.SIGNING_ALG || 'ES384', 'SIGNING_ALG'),
  confidentialClient: {
    id: env.CONFIDENTIAL_CLIENT_ID || 'web-app',
    secret: env.CONFIDENTIAL_CLIENT_SECRET || 'web-app-secret',
  },
  publicClient: {
    id: env.PUBLIC_CLIENT_ID || 'spa-app',
  },
  // A Logto native app: public, device flow, loopback redirects on any port, token exchange.
  nativeClient: {
    id: env.NATIVE_CLIENT_ID || 'native-app',
  },
  devicePollInterval: intEnv('DEVICE_POLL_INTERVAL', 5),
  // Apps allowed to exchange tokens (Logto: per application, off by default).
  tokenExchangeClients: listEnv('TOKEN_EXCHANGE_CLIENTS', ['web-app', 'native-app', 'machine-app']),
  redirectUris: listEnv('REDIRECT_URIS', ['http://127.0.0.1/callback', 'http://localhost:3000/callback']),
  postLogoutRedirectUris: listEnv('POST_LOGOUT_REDIRECT_URIS', ['http://127.0.0.1/signed-out', 'http://localhost:3000/']),
  // 'all' (default): every client must send PKCE S256. 'logto': like Logto, a client registered
  // with client_secret_basic may omit it.
  pkceRequired: env.PKCE_REQUIRED || 'all',
  ttl: {
    accessToken: accessTokenTtlOverride ?? 3600,
    organizationToken: intEnv('ORGANIZATION_TOKEN_TTL', accessTokenTtlOverride ?? 3600),
    idToken: intEnv('ID_TOKEN_TTL', 3600),
    refreshToken: intEnv('REFRESH_TOKEN_TTL', 14 * 24 * 3600),
    authorizationCode: intEnv('AUTHORIZATION_CODE_TTL', 60),
    session: intEnv('SESSION_TTL', 14 * 24 * 3600),
    grant: intEnv('GRANT_TTL', 180 * 24 * 3600),
    deviceCode: intEnv('DEVICE_CODE_TTL', 600),
    interaction: intEnv('INTERACTION_TTL', 3600),
  },
  hangMs: intEnv('HANG_MS', 30_000),
  // Back-channel logout URI of the confidential client (unset: none), with `sid` required in
  // logout tokens (and so in ID tokens), like a Logto app with "Is session required" on.
  backchannelLogoutUri: env.BACKCHANNEL_LOGOUT_URI || undefined,
};

if (!['all', 'logto'].includes(config.pkceRequired)) fail('PKCE_REQUIRED must be "all" or "logto"');

// ---------------------------------------------------------------------------------------------
// Fixtures: users, roles, organizations, API resources
// ---------------------------------------------------------------------------------------------

const users = new Map(fixtures.users.map((user) => [user.id, structuredClone(user)]));
// Machine-to-machine apps (client credentials), with the API scopes their machine roles grant.
const machineApps = new Map((fixtures.machineApps ?? []).map((app) => [app.id, app]));
const organizations = new Map(fixtures.organizations.map((org) => [org.id, org]));
const resources = new Map(fixtures.resources.map((resource) => [resource.indicator, resource]));

function findUserByIdentifier(identifier) {
  const wanted = String(identifier ?? '').trim();
  if (!wanted) return undefined;
  for (const user of users.values()) {
    if (user.username === wanted || (user.primaryEmail && user.primaryEmail.toLowerCase() === wanted.toLowerCase())
      || (user.primaryPhone && user.primaryPhone === wanted)) {
      return user;
    }
  }
  return undefined;
}

function findUserByName(username) {
  for (const user of users.values()) if (user.username === username) return user;
  return undefined;
}

function isMember(user, organizationId) {
  return Object.hasOwn(user.organizations ?? {}, organizationId);
}

/** Organization permissions of the user's roles in one organization. */
function organizationRoleScopes(user, organizationId) {
  const scopes = new Set();
  for (const role of user.organizations?.[organizationId] ?? []) {
    for (const scope of fixtures.organizationRoles[role]?.scopes ?? []) scopes.add(scope);
  }
  // Keep the order of the organization scope list, like a database would.
  return fixtures.organizationScopes.filter((scope) => scopes.has(scope));
}

/**
 * The scopes of an API resource the user holds: from the user's roles, plus those inherited from
 * organization roles (all organizations, or only `organizationId` when given), like Logto's
 * `findUserScopesForResourceIndicator(userId, indicator, true, organizationId)`.
 */
function userResourceScopes(user, indicator, organizationId) {
  const held = new Set();
  for (const role of user.roles ?? []) {
    for (const scope of fixtures.roles[role]?.[indicator] ?? []) held.add(scope);
  }
  const orgIds = organizationId ? [organizationId] : Object.keys(user.organizations ?? {});
  for (const orgId of orgIds) {
    for (const role of user.organizations?.[orgId] ?? []) {
      for (const scope of fixtures.organizationRoles[role]?.resourceScopes?.[indicator] ?? []) held.add(scope);
    }
  }
  return (resources.get(indicator)?.scopes ?? []).filter((scope) => held.has(scope));
}

// Logto's scope -> claims table (core-kit `userClaims`). The ID token gets the base claims plus
// the extended claims enabled by the tenant's default config: roles, organizations,
// organization_roles. custom_data, identities, sso_identities and organization_data are userinfo
// only.
const PROFILE_CLAIMS = [
  'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'username',
  'created_at',
];

const USERINFO_CLAIMS = {
  profile: PROFILE_CLAIMS,
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  custom_data: ['custom_data'],
  identities: ['identities', 'sso_identities'],
  roles: ['roles'],
  [ORGANIZATION_SCOPE]: ['organizations', 'organization_data'],
  'urn:logto:scope:organization_roles': ['organization_roles'],
};

const ID_TOKEN_CLAIMS = {
  ...USERINFO_CLAIMS,
  custom_data: [],
  identities: [],
  [ORGANIZATION_SCOPE]: ['organizations'],
};

const PROFILE_KEYS = {
  family_name: 'familyName',
  given_name: 'givenName',
  middle_name: 'middleName',
  nickname: 'nickname',
  preferred_username: 'preferredUsername',
  profile: 'profile',
  website: 'website',
  gender: 'gender',
  birthdate: 'birthdate',
  zoneinfo: 'zoneinfo',
  locale: 'locale',
  address: 'address',
};

function claimValue(user, claim) {
  switch (claim) {
    case 'name': return user.name ?? null;
    case 'picture': return user.avatar ?? null;
    case 'username': return user.username ?? null;
    case 'email': return user.primaryEmail ?? null;
    case 'email_verified': return Boolean(user.primaryEmail);
    case 'phone_number': return user.primaryPhone ?? null;
    case 'phone_number_verified': return Boolean(user.primaryPhone);
    case 'created_at': return user.createdAt;
    case 'updated_at': return user.updatedAt;
    case 'custom_data': return user.customData ?? {};
    case 'identities': return user.identities ?? {};
    case 'sso_identities': return user.ssoIdentities ?? [];
    case 'roles': return user.roles ?? [];
    case 'organizations': return Object.keys(user.organizations ?? {});
    case 'organization_roles':
      return Object.entries(user.organizations ?? {}).flatMap(([orgId, roles]) => roles.map((role) => `${orgId}:${role}`));
    case 'organization_data':
      return Object.keys(user.organizations ?? {}).map((orgId) => {
        const org = organizations.get(orgId);
        return { id: orgId, name: org?.name ?? orgId, description: org?.description ?? null };
      });
    default: {
      // Profile claims fall back to absent rather than null (like Logto).
      const key = PROFILE_KEYS[claim];
      return key ? user.profile?.[key] : undefined;
    }
  }
}

function userClaims(user, use, scope, rejected) {
  const table = use === 'id_token' ? ID_TOKEN_CLAIMS : USERINFO_CLAIMS;
  const claims = { sub: user.id };
  for (const name of String(scope ?? '').split(' ')) {
    for (const claim of table[name] ?? []) {
      if (rejected?.includes(claim)) continue;
      const value = claimValue(user, claim);
      if (value !== undefined) claims[claim] = value;
    }
  }
  return claims;
}

// ---------------------------------------------------------------------------------------------
// Signing keys
// ---------------------------------------------------------------------------------------------

function generateSigningKey(alg) {
  let pair;
  if (alg.startsWith('ES')) {
    const namedCurve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
    pair = crypto.generateKeyPairSync('ec', { namedCurve });
  } else {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${alg.toLowerCase()}-${crypto.randomBytes(8).toString('hex')}`, alg, use: 'sig' };
}

const state = {
  issuer: undefined,
  alg: config.alg,
  /** Private JWKs, the signing key first. */
  keys: [generateSigningKey(config.alg)],
  cookieKeys: [crypto.randomBytes(32).toString('base64url')],
  provider: undefined,
  handler: undefined,
  faults: [],
  requests: [],
  nextSeq: 1,
  clockOffsetMs: 0,
  backchannel: [],
  logoutTokens: [],
  devicePace: undefined,
  subjectTokens: new SubjectTokens(),
};
state.devicePace = new DevicePace(config.devicePollInterval);

// A test control can move the provider's clock (tokens' iat/exp, expiry checks).
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + state.clockOffsetMs;

const publicKeyInfo = (key) => ({ kid: key.kid, alg: key.alg, kty: key.kty });

// ---------------------------------------------------------------------------------------------
// The Provider
// ---------------------------------------------------------------------------------------------

/** Values the outer HTTP handler learned from a token request body (oidc-provider strips them). */
const TOKEN_REQUEST = Symbol('logtoTokenRequest');

function tokenRequestOf(ctx) {
  // oidc-provider passes no ctx to its hooks outside a route (issueOrganizationToken runs there).
  return ctx?.req?.[TOKEN_REQUEST];
}

function organizationIdOf(ctx) {
  const fromToken = tokenRequestOf(ctx)?.organizationId;
  if (fromToken) return fromToken;
  const fromParams = ctx.oidc?.params?.organization_id;
  return typeof fromParams === 'string' && fromParams ? fromParams : undefined;
}

function sharedResourceServerData() {
  return { accessTokenFormat: 'jwt', jwt: { sign: { alg: state.alg } } };
}

function resourceTtl(resource) {
  return accessTokenTtlOverride ?? resource?.accessTokenTtl ?? 3600;
}

async function getResourceServerInfo(ctx, indicator) {
  if (indicator === ORGANIZATION_RESOURCE) {
    return {
      ...sharedResourceServerData(),
      accessTokenTTL: config.ttl.organizationToken,
      scope: fixtures.organizationScopes.join(' '),
    };
  }
  const resource = resources.get(indicator);
  if (!resource) throw new errors.InvalidTarget();

  const accountId = ctx.oidc.session?.accountId ?? ctx.oidc.entities.Account?.accountId;
  const user = accountId ? users.get(accountId) : undefined;
  // A machine (client credentials) holds the scopes of its machine roles, like Logto.
  const machine = !user && ctx.oidc.params?.grant_type === 'client_credentials'
    ? machineApps.get(ctx.oidc.client?.clientId) : undefined;
  const scopes = user ? userResourceScopes(user, indicator, organizationIdOf(ctx))
    : (machine?.resources?.[indicator] ?? []).filter((scope) => resource.scopes.includes(scope));
  return {
    ...sharedResourceServerData(),
    accessTokenTTL: resourceTtl(resource),
    scope: scopes.join(' '),
  };
}

/**
 * Organization checks of Logto's refresh grant (membership, then the organizations scope). Run
 * from `rotateRefreshToken`, which oidc-provider calls at the same point of the grant where
 * Logto runs them: after the refresh token, grant, account and reuse checks, before rotation.
 */
function assertOrganizationAccess(ctx) {
  const organizationId = tokenRequestOf(ctx)?.organizationId;
  if (!organizationId) return;
  const { RefreshToken: refreshToken, Account: account } = ctx.oidc.entities;
  const user = users.get(account?.accountId);
  if (!user || !isMember(user, organizationId)) {
    const error = new errors.AccessDenied('user is not a member of the organization');
    error.statusCode = 403;
    error.status = 403;
    throw error;
  }
  if (!refreshToken.scopes.has(ORGANIZATION_SCOPE)) {
    throw new errors.InsufficientScope('refresh token missing required scope', ORGANIZATION_SCOPE);
  }
}

function rotateRefreshToken(ctx) {
  assertOrganizationAccess(ctx);

  // REFRESH_TOKEN_ROTATION=every-use: every refresh rotates, as Logto does for public clients
  // (the strictest case for a client: any reused refresh token revokes the grant).
  if (process.env.REFRESH_TOKEN_ROTATION === 'every-use') return true;
  // oidc-provider's default policy, which Logto keeps.
  const { RefreshToken: refreshToken, Client: client } = ctx.oidc.entities;
  if (refreshToken.totalLifetime() >= 365.25 * 24 * 60 * 60) return false;
  if (client.clientAuthMethod === 'none' && !refreshToken.isSenderConstrained()) return true;
  return refreshToken.ttlPercentagePassed() >= 70;
}

/**
 * Turns the opaque access token of a refresh grant that carried `organization_id` (and no
 * `resource`) into Logto's organization token: a JWT for `urn:logto:organization:<id>` whose scope
 * is the user's organization-role permissions in that organization, intersected with the
 * requested scopes.
 */
async function issueOrganizationToken(ctx) {
  const request = tokenRequestOf(ctx);
  if (!request?.organizationId || request.hasResource || ctx.status !== 200 || ctx.oidc?.route !== 'token') return;
  if (ctx.oidc.params?.grant_type !== 'refresh_token') return;

  const { provider, entities: { AccessToken: opaque, RefreshToken: refreshToken, Account: account } } = ctx.oidc;
  const user = users.get(account.accountId);
  const audience = `${ORGANIZATION_URN_PREFIX}${request.organizationId}`;
  const requested = ctx.oidc.params.scope ? ctx.oidc.requestParamScopes : refreshToken.scopes;
  const available = organizationRoleScopes(user, request.organizationId);
  const issued = available.filter((scope) => requested.has(scope)).join(' ');

  const at = new provider.AccessToken({
    accountId: account.accountId,
    client: ctx.oidc.client,
    expiresWithSession: refreshToken.expiresWithSession,
    grantId: refreshToken.grantId,
    gty: opaque?.gty ?? 'refresh_token',
    sessionUid: refreshToken.sessionUid,
    sid: refreshToken.sid,
  });
  if (opaque?.jkt) at.jkt = opaque.jkt;
  if (opaque?.['x5t#S256']) at['x5t#S256'] = opaque['x5t#S256'];
  at.resourceServer = new provider.ResourceServer(audience, {
    ...sharedResourceServerData(),
    accessTokenTTL: config.ttl.organizationToken,
    audience,
    scope: available.join(' '),
  });
  at.scope = issued;
  const value = await at.save();
  if (opaque) await opaque.destroy();

  ctx.body = {
    ...ctx.body,
    access_token: value,
    expires_in: at.expiration,
    token_type: at.tokenType,
    scope: issued,
  };
}

/**
 * Logto's organization token for a machine: the client credentials grant with
 * `organization_id` and no `resource` gives a JWT for `urn:logto:organization:<id>` whose scope
 * is the machine's organization-role permissions there, intersected with the requested ones;
 * an app that is not in the organization gets 403 `access_denied`.
 */
async function issueMachineOrganizationToken(ctx) {
  const request = tokenRequestOf(ctx);
  if (!request?.organizationId || request.hasResource || ctx.oidc?.route !== 'token') return;
  if (ctx.oidc.params?.grant_type !== 'client_credentials' || ctx.status !== 200) return;
  const { provider, client } = ctx.oidc;
  const roles = machineApps.get(client.clientId)?.organizations?.[request.organizationId];
  if (!roles) {
    ctx.status = 403;
    ctx.body = { error: 'access_denied', error_description: 'app is not a member of the organization' };
    return;
  }
  const available = fixtures.organizationScopes.filter((scope) => roles
    .some((role) => fixtures.organizationRoles[role]?.scopes?.includes(scope)));
  const requested = new Set(request.scope ? String(request.scope).split(' ') : available);
  const issued = available.filter((scope) => requested.has(scope)).join(' ');
  const audience = `${ORGANIZATION_URN_PREFIX}${request.organizationId}`;
  const token = new provider.ClientCredentials({ client, scope: issued || undefined });
  token.resourceServer = new provider.ResourceServer(audience, {
    ...sharedResourceServerData(),
    accessTokenTTL: config.ttl.organizationToken,
    audience,
    scope: available.join(' '),
  });
  const value = await token.save();
  ctx.body = {
    access_token: value,
    expires_in: token.expiration,
    token_type: 'Bearer',
    scope: issued,
  };
}

const ERROR_MESSAGES = {
  invalid_grant: 'Grant request is invalid.',
  invalid_client: 'Client authentication failed.',
  invalid_request: 'The request is invalid.',
  invalid_scope: 'The requested scope is invalid.',
  invalid_target: 'The requested resource indicator is invalid.',
  invalid_token: 'The provided token is invalid.',
  insufficient_scope: 'The token is missing a required scope.',
  access_denied: 'Access denied.',
  unauthorized_client: 'The client is not authorized to use this grant type.',
  unsupported_grant_type: 'The grant type is not supported.',
  server_error: 'The authorization server hit an internal error.',
};

/** Logto's error body: `{code, message, error_uri?, error, error_description?}` over oidc-provider's. */
function logtoErrorBody(body) {
  const sessionNotFound = typeof body.error_description === 'string'
    && ((body.error_description.includes('session') && body.error_description.includes('not found'))
      || body.error_description.includes('authorization request has expired'));
  const code = sessionNotFound ? 'session.not_found' : `oidc.${body.error}`;
  return {
    code,
    message: ERROR_MESSAGES[body.error] ?? `An OpenID Connect error occurred (${code}).`,
    ...(body.error === 'invalid_grant' ? { error_uri: 'https://openid.sh/debug/invalid_grant' } : {}),
    ...body,
  };
}

function buildClients() {
  const common = {
    redirect_uris: config.redirectUris,
    post_logout_redirect_uris: config.postLogoutRedirectUris,
    // Every app may ask for the exchange; Logto refuses an app not allowed to.
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
    response_types: ['code'],
    application_type: 'web',
    id_token_signed_response_alg: state.alg,
  };
  return [
    {
      ...common,
      client_id: config.confidentialClient.id,
      client_secret: config.confidentialClient.secret,
      client_name: 'Traditional web app (confidential)',
      token_endpoint_auth_method: 'client_secret_basic',
      ...(config.backchannelLogoutUri ? {
        backchannel_logout_uri: config.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      } : {}),
    },
    {
      ...common,
      client_id: config.publicClient.id,
      client_name: 'Single-page app (public)',
      token_endpoint_auth_method: 'none',
    },
    {
      client_id: config.nativeClient.id,
      client_name: 'Native app (public)',
      application_type: 'native',
      // oidc-provider matches a native app's loopback redirect on any port (RFC 8252 §7.3).
      redirect_uris: ['http://127.0.0.1/callback'],
      post_logout_redirect_uris: config.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: state.alg,
    },
    ...[...machineApps.values()].map((app) => ({
      client_id: app.id,
      client_secret: app.secret,
      client_name: app.name,
      grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: state.alg,
    })),
  ];
}

function buildProvider() {
  const provider = new Provider(state.issuer, {
    adapter: MemoryAdapter,
    clients: buildClients(),
    // Outgoing calls (back-channel logout) go to the app under test on 127.0.0.1, which
    // oidc-provider's SSRF guard refuses: this provider only ever runs on loopback, so the
    // guard's dispatcher is left out.
    fetch: (url, { dispatcher: _guard, ...options }) => globalThis.fetch(url, options),
    jwks: { keys: state.keys },
    cookies: {
      keys: state.cookieKeys,
      long: { sameSite: 'lax', path: '/', signed: true, overwrite: true },
      short: { sameSite: 'lax', path: '/', signed: true, overwrite: true },
    },
    enabledJWA: {
      idTokenSigningAlgValues: [state.alg],
      userinfoSigningAlgValues: SUPPORTED_ALGS,
      introspectionSigningAlgValues: SUPPORTED_ALGS,
      authorizationSigningAlgValues: SUPPORTED_ALGS,
    },
    claims: { openid: ['sub'], ...USERINFO_CLAIMS },
    scopes: ['openid', 'offline_access', 'urn:logto:scope:sessions', 'urn:logto:scope:trusted_devices'],
    conformIdTokenClaims: false,
    extraParams: [
      'interaction_mode', 'first_screen', 'direct_sign_in', 'organization_id', 'login_hint',
      'ui_locales', 'identifier', 'one_time_token', 'google_one_tap_credential',
    ],
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      deviceFlow: { enabled: true, ...devicePages },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => { ctx.body = renderLogoutPage(form); },
        postLogoutSuccessSource: (ctx) => { ctx.body = renderLogoutSuccessPage(); },
      },
      resourceIndicators: {
        enabled: true,
        // No default API resource: a code exchange without `resource` gets an opaque token for
        // the userinfo endpoint (Logto without a default resource configured).
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo,
      },
    },
    extraTokenClaims: async (ctx, token) => {
      // Logto's delegation: a token exchanged with an actor token names the actor.
      const actor = tokenActors.get(token);
      const act = actor ? { act: { sub: actor } } : {};
      // Logto: a resource token requested with organization_id carries that id.
      const organizationId = tokenRequestOf(ctx)?.organizationId;
      if (organizationId && tokenRequestOf(ctx).hasResource && token instanceof ctx.oidc.provider.AccessToken) {
        return { organization_id: organizationId, ...act };
      }
      return actor ? act : undefined;
    },
    findAccount: async (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) throw new errors.InvalidGrant('user not found');
      return {
        accountId: sub,
        claims: async (use, scope, _claims, rejected) => userClaims(user, use, scope, rejected),
      };
    },
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    interactions: { url: (_ctx, interaction) => `/${experiencePage(interaction.params)}/${interaction.uid}` },
    pkce: {
      required: (_ctx, client) => config.pkceRequired === 'all' || client.clientAuthMethod !== 'client_secret_basic',
    },
    // Errors as JSON even for browsers, like Logto (the middleware below adds Logto's fields).
    renderError: (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
    rotateRefreshToken,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      AuthorizationCode: config.ttl.authorizationCode,
      IdToken: config.ttl.idToken,
      RefreshToken: (ctx, token, client) => {
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        if (rotated && client.applicationType === 'web' && client.clientAuthMethod === 'none' && !token.isSenderConstrained()) {
          return rotated.remainingTTL;
        }
        return config.ttl.refreshToken;
      },
      Interaction: config.ttl.interaction,
      Session: config.ttl.session,
      Grant: config.ttl.grant,
      DeviceCode: config.ttl.deviceCode,
    },
  });

  // Logto's error body shape on every JSON error.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)
      && typeof ctx.body.error === 'string') {
      ctx.body = logtoErrorBody(ctx.body);
    }
  });

  // Logto adds an ETag to GET bodies (304 on If-None-Match) and forbids caching the JWKS.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'GET' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object'
      && !Buffer.isBuffer(ctx.body) && typeof ctx.body.pipe !== 'function') {
      ctx.etag = crypto.createHash('sha256').update(JSON.stringify(ctx.body)).digest('base64url');
      if (ctx.fresh) {
        ctx.status = 304;
        ctx.body = null;
      }
    }
    if (ctx.oidc?.route === 'jwks') ctx.set('Cache-Control', 'no-cache, max-age=0, must-revalidate');
  });

  // Organization tokens (Logto's refresh grant with organization_id).
  provider.use(async (ctx, next) => {
    await next();
    try {
      await issueOrganizationToken(ctx);
      await issueMachineOrganizationToken(ctx);
    } catch (error) {
      console.error('test provider: organization token failed', error);
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'organization token could not be issued' };
    }
  });

  // Logto's device authorization answer carries the polling interval.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body) {
      ctx.body = { ...ctx.body, interval: config.devicePollInterval };
    }
  });

  registerTokenExchange(provider, {
    subjectTokens: state.subjectTokens,
    allowed: (client) => config.tokenExchangeClients.includes(client.clientId),
    users,
    resources,
    userResourceScopes,
    organizationRoleScopes,
    isMember,
    resourceServerInfo: (resource) => ({ ...sharedResourceServerData(), accessTokenTTL: resourceTtl(resource) }),
    organizationResourceServer: (organizationId, available) => {
      const audience = `${ORGANIZATION_URN_PREFIX}${organizationId}`;
      return new provider.ResourceServer(audience, {
        ...sharedResourceServerData(),
        accessTokenTTL: config.ttl.organizationToken,
        audience,
        scope: available.join(' '),
      });
    },
  });

  provider.on('server_error', (_ctx, error) => console.error('test provider: server_error', error?.stack ?? error));

  // Back-channel logout calls and the logout tokens they carried, for the tests (a test
  // replays one to check that the app refuses it).
  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issueRecorded(options) {
    const token = await issue.call(this, options);
    if (options?.use === 'logout') state.logoutTokens.push(token);
    return token;
  };
  provider.on('backchannel.success', (_ctx, client, sub, sid) => {
    state.backchannel.push({ client_id: client.clientId, sub, sid, ok: true });
  });
  provider.on('backchannel.error', (_ctx, error, client, sub, sid) => {
    console.error('test provider: back-channel logout failed', error?.message ?? error);
    state.backchannel.push({ client_id: client.clientId, sub, sid, ok: false, error: String(error?.message ?? error) });
  });

  return provider;
}

function installProvider() {
  const provider = buildProvider();
  state.provider = provider;
  state.handler = provider.callback();
}

// ---------------------------------------------------------------------------------------------
// Interactions (sign-in page, automatic consent)
// ---------------------------------------------------------------------------------------------

function send(res, status, body, contentType = 'application/json; charset=utf-8') {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

const sendHtml = (res, status, html) => send(res, status, html, 'text/html; charset=utf-8');

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// Logto's sign-in experience opens on the page `first_screen` names (`interaction_mode=signUp`
// alone opens the register page), at these paths.
const EXPERIENCE_PAGES = {
  sign_in: 'sign-in',
  register: 'register',
  reset_password: 'forgot-password',
  'identifier:sign_in': 'identifier-sign-in',
  'identifier:register': 'identifier-register',
  single_sign_on: 'single-sign-on',
};

function experiencePage(params) {
  return EXPERIENCE_PAGES[params.first_screen]
    ?? (params.interaction_mode === 'signUp' ? 'register' : 'sign-in');
}

function loginPageData(details, error) {
  const { params, uid } = details;
  const firstScreen = params.first_screen
    ?? (params.interaction_mode === 'signUp' ? 'register' : 'sign_in');
  return {
    uid,
    clientId: params.client_id,
    prompt: details.prompt.name,
    firstScreen,
    extraParams: Object.fromEntries([
      'interaction_mode', 'first_screen', 'direct_sign_in', 'organization_id', 'login_hint',
      'ui_locales', 'identifier', 'one_time_token', 'google_one_tap_credential',
    ].filter((key) => params[key] !== undefined).map((key) => [key, params[key]])),
    identifier: params.login_hint ?? '',
    error,
  };
}

async function autoConsent(req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await state.provider.Grant.find(details.grantId)
    : new state.provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await state.provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, url) {
  const pages = ['interaction', ...Object.values(EXPERIENCE_PAGES)].join('|');
  const match = new RegExp(`^/(?:${pages})/([^/]+)(?:/(login|abort))?/?$`).exec(url.pathname);
  if (!match) return send(res, 404, { error: 'not_found' });
  const [, uid, action] = match;

  let details;
  try {
    details = await state.provider.interactionDetails(req, res);
  } catch (error) {
    const out = { error: error.error ?? 'invalid_request', error_description: error.error_description ?? String(error.message) };
    return send(res, error.statusCode ?? 400, logtoErrorBody(out));
  }
  if (details.uid !== uid) return send(res, 400, logtoErrorBody({ error: 'invalid_request', error_description: 'interaction uid mismatch' }));

  if (action === 'abort') {
    return state.provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'login') {
    if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' });
    const form = querystring.parse((await readBody(req)).toString('utf8'));
    const user = findUserByIdentifier(form.identifier);
    if (!user || typeof form.password !== 'string' || form.password !== user.password) {
      return sendHtml(res, 401, renderLoginPage({ ...loginPageData(details, 'Invalid identifier or password.'), identifier: String(form.identifier ?? '') }));
    }
    return state.provider.interactionFinished(req, res, {
      login: { accountId: user.id, amr: ['pwd'], remember: true },
    }, { mergeWithLastSubmission: false });
  }

  if (req.method !== 'GET') return send(res, 405, { error: 'method_not_allowed' });
  switch (details.prompt.name) {
    case 'login':
      return sendHtml(res, 200, renderLoginPage(loginPageData(details)));
    case 'consent':
      // First-party app: consent is granted for whatever was requested, like Logto.
      return autoConsent(req, res, details);
    default:
      return send(res, 500, { error: 'server_error', error_description: `unsupported prompt ${details.prompt.name}` });
  }
}

// ---------------------------------------------------------------------------------------------
// Test controls (/__test/...)
// ---------------------------------------------------------------------------------------------

function publicConfig() {
  return {
    issuer: state.issuer,
    endpoint: new URL(state.issuer).origin,
    signing_alg: state.alg,
    keys: state.keys.map(publicKeyInfo),
    confidential_client: {
      client_id: config.confidentialClient.id,
      client_secret: config.confidentialClient.secret,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    public_client: { client_id: config.publicClient.id, token_endpoint_auth_method: 'none' },
    native_client: {
      client_id: config.nativeClient.id,
      token_endpoint_auth_method: 'none',
      redirect_uri: 'http://127.0.0.1/callback',
      device_poll_interval: config.devicePollInterval,
    },
    machine_clients: [...machineApps.values()].map((app) => ({
      client_id: app.id,
      client_secret: app.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      resources: app.resources,
    })),
    redirect_uris: config.redirectUris,
    post_logout_redirect_uris: config.postLogoutRedirectUris,
    pkce_required: config.pkceRequired,
    ttl: config.ttl,
    hang_ms: config.hangMs,
    resources: fixtures.resources.map(({ indicator, scopes }) => ({ indicator, scopes })),
    organization_scopes: fixtures.organizationScopes,
    organizations: fixtures.organizations,
    users: [...users.values()].map((user) => ({
      id: user.id,
      username: user.username,
      password: user.password,
      email: user.primaryEmail,
      phone: user.primaryPhone,
      roles: user.roles,
      organizations: user.organizations,
    })),
    clock_offset_seconds: state.clockOffsetMs / 1000,
  };
}

function requestSummary() {
  const count = (grantType) => state.requests.filter((entry) => entry.grant_type === grantType).length;
  return {
    requests: state.requests,
    token_requests: state.requests.filter((entry) => entry.path === '/oidc/token').length,
    refresh_token_requests: count('refresh_token'),
    authorization_code_requests: count('authorization_code'),
  };
}

async function jsonBody(req) {
  const raw = (await readBody(req)).toString('utf8').trim();
  if (!raw) return {};
  return JSON.parse(raw);
}

async function handleControl(req, res, url) {
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  let body;
  try {
    body = req.method === 'GET' || req.method === 'DELETE' ? {} : await jsonBody(req);
  } catch (error) {
    return send(res, 400, { error: 'invalid JSON body', detail: String(error.message) });
  }

  switch (route) {
    case 'GET /__test/config':
      return send(res, 200, publicConfig());

    case 'GET /__test/requests':
      return send(res, 200, requestSummary());

    case 'POST /__test/requests/reset':
    case 'DELETE /__test/requests':
      state.requests = [];
      return send(res, 200, { ok: true });

    case 'POST /__test/faults': {
      const mode = String(body.mode ?? '');
      if (!['500', 'hang', 'malformed', 'status', 'delay', 'late_answer', 'slow_down'].includes(mode)) {
        return send(res, 400, { error: 'mode must be one of "500", "hang", "malformed", "status", "delay", "late_answer", "slow_down"' });
      }
      const count = body.count === undefined ? 1 : Number(body.count);
      if (!Number.isInteger(count) || count < 1) return send(res, 400, { error: 'count must be a positive integer' });
      const fault = {
        mode,
        remaining: count,
        path: body.path ?? '/oidc/token',
        grant_type: body.grant_type ?? undefined,
        status: mode === '500' ? Number(body.status ?? 500) : Number(body.status ?? 503),
        hang_ms: body.hang_ms === undefined ? config.hangMs : Number(body.hang_ms),
      };
      state.faults.push(fault);
      return send(res, 200, { ok: true, faults: state.faults });
    }

    case 'GET /__test/faults':
      return send(res, 200, { faults: state.faults });

    case 'DELETE /__test/faults':
      state.faults = [];
      return send(res, 200, { ok: true });

    case 'POST /__test/rotate-key': {
      const alg = body.alg ?? state.alg;
      if (!SUPPORTED_ALGS.includes(alg)) return send(res, 400, { error: `unsupported alg ${alg}` });
      const key = generateSigningKey(alg);
      if (body.staged) {
        // Published, but does not sign (Logto's "Next" key) unless no other key has its alg.
        state.keys = [...state.keys, key];
      } else {
        state.keys = body.retire_previous ? [key] : [key, ...state.keys];
        state.alg = alg;
      }
      installProvider();
      return send(res, 200, { kid: key.kid, alg, signing_alg: state.alg, keys: state.keys.map(publicKeyInfo) });
    }

    case 'POST /__test/clock': {
      const offset = Number(body.offset_seconds ?? 0);
      if (!Number.isFinite(offset)) return send(res, 400, { error: 'offset_seconds must be a number' });
      state.clockOffsetMs = Math.round(offset * 1000);
      return send(res, 200, { ok: true, offset_seconds: offset, now: Math.floor(Date.now() / 1000) });
    }

    case 'GET /__test/backchannel':
      return send(res, 200, { calls: state.backchannel, logout_tokens: state.logoutTokens });

    case 'GET /__test/storage':
      return send(res, 200, storageStats());

    case 'POST /__test/personal-access-tokens':
      if (!users.has(body.user_id)) return send(res, 404, { error: 'no such user' });
      return send(res, 200, state.subjectTokens.personalAccessToken(body.user_id, body.expires_in));
    case 'POST /__test/subject-tokens':
      if (!users.has(body.user_id)) return send(res, 404, { error: 'no such user' });
      return send(res, 200, state.subjectTokens.subjectToken(body.user_id, body.expires_in));
    case 'POST /__test/reset':
      state.devicePace.clear();
      state.subjectTokens.clear();
      state.faults = [];
      state.requests = [];
      state.clockOffsetMs = 0;
      return send(res, 200, { ok: true });

    default: {
      const membership = /^PUT \/__test\/users\/([^/]+)\/organizations$/.exec(route);
      if (membership) {
        const user = findUserByName(decodeURIComponent(membership[1]));
        if (!user) return send(res, 404, { error: 'unknown user' });
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return send(res, 400, { error: 'body must map organization ids to role name lists' });
        }
        for (const [orgId, roles] of Object.entries(body)) {
          if (!organizations.has(orgId)) return send(res, 400, { error: `unknown organization ${orgId}` });
          if (!Array.isArray(roles) || roles.some((role) => !fixtures.organizationRoles[role])) {
            return send(res, 400, { error: `roles of ${orgId} must be a list of known organization roles` });
          }
        }
        user.organizations = body;
        return send(res, 200, { ok: true, username: user.username, organizations: user.organizations });
      }
      return send(res, 404, { error: `unknown test control ${route}` });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fault injection and the request log
// ---------------------------------------------------------------------------------------------

function takeFault(path, grantType) {
  const index = state.faults.findIndex((fault) => fault.path === path
    && (!fault.grant_type || fault.grant_type === grantType));
  if (index < 0) return undefined;
  const fault = state.faults[index];
  fault.remaining -= 1;
  if (fault.remaining <= 0) state.faults.splice(index, 1);
  return fault;
}

function applyFault(fault, req, res) {
  switch (fault.mode) {
    case '500':
    case 'status':
      return send(res, fault.status, {
        code: 'oidc.server_error',
        message: 'Injected failure.',
        error: 'server_error',
        error_description: `injected ${fault.status} by the test control`,
      });
    case 'malformed':
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      return res.end('{"access_token": "truncated-json", "token_type": ');
    case 'hang': {
      // Hold the response open, then drop the connection without an answer.
      const timer = setTimeout(() => res.destroy(), fault.hang_ms);
      res.on('close', () => clearTimeout(timer));
      return undefined;
    }
    default:
      return send(res, 500, { error: 'server_error' });
  }
}

function logRequest(req, url, fields) {
  const entry = {
    seq: state.nextSeq++,
    time_ms: Date.now(),
    method: req.method,
    path: url.pathname,
    // Which client sent it (tests of an app's own HTTP client).
    user_agent: req.headers['user-agent'] ?? null,
    ...fields,
    // Set when the response is sent; null for a connection dropped without an answer.
    status: undefined,
  };
  state.requests.push(entry);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------------

/** With a shifted clock, cookie expiry dates are written in real time so clients keep them. */
function realTimeCookies(res) {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => {
    if (state.clockOffsetMs !== 0 && String(name).toLowerCase() === 'set-cookie') {
      const shift = (cookie) => String(cookie).replace(/expires=([^;]+)/i, (match, date) => {
        const when = Date.parse(date);
        return Number.isNaN(when) ? match : `expires=${new Date(when - state.clockOffsetMs).toUTCString()}`;
      });
      return setHeader(name, Array.isArray(value) ? value.map(shift) : shift(value));
    }
    return setHeader(name, value);
  };
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  realTimeCookies(res);

  if (url.pathname.startsWith('/__test/')) return handleControl(req, res, url);

  const fields = {};
  let rawBody;
  if (url.pathname === '/oidc/token' && req.method === 'POST') {
    rawBody = await readBody(req);
    const form = querystring.parse(rawBody.toString('utf8'));
    const first = (value) => (Array.isArray(value) ? value[0] : value);
    const organizationId = first(form.organization_id) || undefined;
    fields.grant_type = first(form.grant_type);
    if (form.resource !== undefined) fields.resource = form.resource;
    if (organizationId !== undefined) fields.organization_id = organizationId;
    if (form.scope !== undefined) fields.scope = first(form.scope);
    if (form.subject_token_type !== undefined) fields.subject_token_type = first(form.subject_token_type);
    req[TOKEN_REQUEST] = {
      organizationId,
      hasResource: Boolean(first(form.resource)),
      scope: first(form.scope),
    };
  }
  const entry = logRequest(req, url, fields);
  res.on('finish', () => { entry.status = res.statusCode; });
  res.on('close', () => { if (entry.status === undefined) entry.status = null; });

  const fault = takeFault(url.pathname, fields.grant_type);
  // A device code polled sooner than its interval (or a `slow_down` fault): `slow_down`, as
  // Logto answers, and the code's interval grows.
  if (fields.grant_type === DEVICE_CODE_GRANT) {
    const deviceCode = String(querystring.parse(rawBody.toString('utf8')).device_code);
    const forced = fault?.mode === 'slow_down';
    if (forced) entry.fault = fault.mode;
    const slowDown = state.devicePace.poll(deviceCode, Date.now(), forced);
    if (slowDown) {
      entry.slow_down = true;
      return send(res, 400, logtoErrorBody(slowDown));
    }
  }

  if (fault?.mode === 'delay') {
    // A slow provider: the request is handled normally, late.
    entry.fault = fault.mode;
    await new Promise((resolve) => { setTimeout(resolve, fault.hang_ms); });
  } else if (fault?.mode === 'late_answer') {
    // Handled at once (a refresh token is rotated now), answered late.
    entry.fault = fault.mode;
    const end = res.end.bind(res);
    res.end = (...args) => {
      setTimeout(() => end(...args), fault.hang_ms);
      return res;
    };
  } else if (fault && fault.mode !== 'slow_down') {
    entry.fault = fault.mode;
    return applyFault(fault, req, res);
  }

  const [, firstSegment] = url.pathname.split('/');
  if (firstSegment === 'interaction' || Object.values(EXPERIENCE_PAGES).includes(firstSegment)) {
    return handleInteraction(req, res, url);
  }

  if (url.pathname === '/oidc' || url.pathname.startsWith('/oidc/')) {
    if (rawBody !== undefined) req.body = rawBody;
    req.originalUrl = req.url;
    const rest = req.url.slice('/oidc'.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    return state.handler(req, res);
  }

  return send(res, 404, { error: 'not_found', path: url.pathname });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('test provider: request failed', error);
    if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(error.message) });
    else res.destroy();
  });
});

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  state.issuer = `http://127.0.0.1:${port}/oidc`;
  installProvider();
  process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}

// The Rust harness keeps our stdin open; when the test process dies (even by SIGKILL) the pipe
// closes and the provider exits instead of lingering.
if (env.EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
