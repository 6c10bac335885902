// A local OpenID provider for the OAuth tests: npm oidc-provider (OpenID Certified),
// standing in for Google and for Microsoft Entra. The provider does what the real
// ones do for the app: PKCE S256 required, redirect URIs matched exactly, the client
// secret checked at the token endpoint (client_secret_basic, what the app sends),
// codes single use, the authorization's nonce in the ID token, RS256 signatures.
//
// Google, at the root of PORT: issuer `http://127.0.0.1:PORT`; ID tokens carry
// `email`, `email_verified`, `name` and `hd` (Workspace users) as the identity has them.
//
// Microsoft Entra, on ENTRA_PORT: one Provider per tenant, issuer
// `http://127.0.0.1:ENTRA_PORT/{tenant}/v2.0` (any tenant id, created on first use;
// all tenants share one signing key, as Entra's do). ID tokens carry `tid`, `email`,
// `xms_edov`, `name` and `preferred_username`, never `email_verified`. The app uses
// the multi-tenant endpoint as in production: `/common/v2.0` publishes the issuer
// template `.../{tenantid}/v2.0` and endpoints of its own (`/common/v2.0/auth`,
// `/token`, `/jwks`; the paths are oidc-provider's, not Entra's `/oauth2/v2.0/...`,
// which the app reads from discovery anyway). As with Entra, the user's tenant is
// known once they sign in: common's sign-in page takes the identity, whose `tid`
// names the tenant, and hands the authorization request over to that tenant's
// Provider (`login_hint` carries a one-time id of that sign-in, and the tenant's
// sign-in page finishes at once, as Entra's single sign-on does); the code comes
// from the tenant, and common's token endpoint passes each exchange on to the tenant
// that issued the code, so tokens carry the user's tenant's issuer.
//
// Signing in, the way tests choose who signs in: the authorization endpoint redirects
// to a sign-in page; POST the identity there as JSON (the ID token's claims: `sub` and
// the claims above; others are dropped, as a real provider would), then follow the
// redirects to the redirect URI with the code, sending back the cookies the provider
// sets (oidc-provider binds each sign-in to them). Consent is
// implied (a first-party app). The clients are the tests' (tests/lib.rs).
//
// Tokens no real provider would issue, for the tests that the app refuses them: an
// identity may carry `forge`, applied to its ID token at the token endpoint.
// `forge.claims` are written over the token's claims (another audience, another
// tenant's issuer...) and the token is signed again with the provider's own key (a
// provider gone wrong); `forge.key: "unpublished"` signs it with a key that is not
// in the JWKS, under the published key's `kid` (a forgery).
//
// Usage: node server.mjs PORT ENTRA_PORT
import crypto from 'node:crypto';
import http from 'node:http';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const entraPort = Number(process.argv[3]);
const googleIssuer = `http://127.0.0.1:${port}`;
const entraBase = `http://127.0.0.1:${entraPort}`;
// What tests/lib.rs configures the app with.
const REDIRECT_URIS = ['http://app.test/oauth/callback', 'http://app.test/other'];
const GOOGLE_CLIENT = { client_id: 'google-test-client', client_secret: 'google-test-secret' };
const MICROSOFT_CLIENT = { client_id: 'microsoft-test-client', client_secret: 'microsoft-test-secret' };
// Always there in Entra (personal Microsoft accounts): common's discovery is built
// from this tenant's.
const PERSONAL_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function signingKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}
const [googleKey, entraKey, unpublishedKey] = await Promise.all([signingKey(), signingKey(), signingKey()]);
function publicJwk({ d, p, q, dp, dq, qi, ...key }) {
  return key;
}
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

/** What signed in, by the grant of that sign-in: { claims, forge }. The account id is
 * the identity's `sub` (oidc-provider makes it the token's), and tests running in
 * parallel may reuse a `sub` with other claims, so claims are looked up by grant. */
const signIns = new Map();
/** Entra: identities signed in at common's page, waiting for their tenant: id → { identity, issuer }. */
const handOffs = new Map();
/** Entra: code → the tenant whose Provider issued it (for common's token endpoint). */
const codeTenants = new Map();

function newProvider(issuer, { client, claims, key, mount, onCode }) {
  const provider = new Provider(issuer, {
    clients: [{
      ...client,
      redirect_uris: REDIRECT_URIS,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    // The identity claims go into the ID token itself, as Google's and Entra's do.
    claims,
    conformIdTokenClaims: false,
    // At the token endpoint `token` is the code, whose grant is the sign-in's.
    findAccount: (ctx, sub, token) => ({ accountId: sub, claims: () => signIns.get(token?.grantId)?.claims ?? { sub } }),
    interactions: { url: (ctx, interaction) => `${mount}/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    // Errors at the provider's own pages (an unknown redirect URI...) as JSON: no browser reads them.
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    cookies: { keys: cookieKeys },
    // A sign-in lasts as long as the app's pending authorization (10 minutes); tokens
    // an hour, as Google's and Entra's do.
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 3600, IdToken: 3600 },
  });
  provider.use(async (ctx, next) => {
    await next();
    const forge = ctx.oidc?.route === 'token' && signIns.get(ctx.oidc.entities.AuthorizationCode?.grantId)?.forge;
    if (forge && ctx.body?.id_token) ctx.body.id_token = await forged(ctx.body.id_token, forge, key);
  });
  // Why a request was refused, in the log (OIDC_LOG): never a secret, only the reason.
  for (const event of ['authorization.error', 'grant.error', 'server_error']) {
    provider.on(event, (ctx, err) => console.error(`${issuer} ${event}: ${err.message} ${err.error_detail ?? ''}`));
  }
  if (onCode) provider.on('authorization_code.saved', (code) => onCode(code.jti));
  return provider;
}

async function forged(idToken, forge, key) {
  const signer = forge.key === 'unpublished' ? unpublishedKey : key;
  return new SignJWT({ ...decodeJwt(idToken), ...forge.claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .sign(await importJWK(signer, 'RS256'));
}

function served(provider, tenant) {
  return { provider, handle: provider.callback(), tenant };
}

const google = served(newProvider(googleIssuer, {
  client: GOOGLE_CLIENT,
  claims: { openid: ['sub', 'hd'], email: ['email', 'email_verified'], profile: ['name'] },
  key: googleKey,
  mount: '',
}));

const tenants = new Map();
function tenantProvider(tenant) {
  if (!tenants.has(tenant)) {
    tenants.set(tenant, served(newProvider(`${entraBase}/${tenant}/v2.0`, {
      client: MICROSOFT_CLIENT,
      claims: { openid: ['sub', 'tid'], email: ['email', 'xms_edov'], profile: ['name', 'preferred_username'] },
      key: entraKey,
      mount: `/${tenant}/v2.0`,
      onCode: (code) => codeTenants.set(code, tenant),
    }), tenant));
  }
  return tenants.get(tenant);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

function answer(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function redirect(res, location) {
  res.writeHead(303, { location, 'content-length': '0' }).end();
}

const SIGN_IN_PAGE = 'Sign-in: POST the identity (the ID token claims) here as JSON; see infra/oidc/server.mjs.\n';

/** The identity POSTed at a sign-in page. */
async function postedIdentity(req) {
  const { forge, ...claims } = JSON.parse(await readBody(req));
  if (typeof claims.sub !== 'string' || !claims.sub) throw new Error('the identity has no sub');
  return { claims, forge };
}

/** A Provider's sign-in page: POST an identity (at a tenant's, one of that tenant), or
 * the hand-off from Entra's common sign-in (`login_hint` names one for this issuer).
 * Consent is granted with it. */
async function interaction(provider, tenant, req, res) {
  const details = await provider.interactionDetails(req, res);
  let identity;
  if (req.method === 'POST') {
    identity = await postedIdentity(req);
    if (tenant && identity.claims.tid !== tenant) throw new Error(`the identity's tid is not ${tenant}`);
  } else if (handOffs.get(details.params.login_hint)?.issuer === provider.issuer) {
    identity = handOffs.get(details.params.login_hint).identity;
    handOffs.delete(details.params.login_hint);
  } else {
    answer(res, 200, SIGN_IN_PAGE, 'text/plain');
    return;
  }
  const accountId = identity.claims.sub;
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  signIns.set(grantId, identity);
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

/** Serves a Provider mounted at `mount`, its sign-in pages included. */
function serve({ provider, handle, tenant }, mount, req, res) {
  const path = req.url.slice(mount.length);
  if (path.startsWith('/interaction/')) return interaction(provider, tenant, req, res);
  // Where oidc-provider finds its mount path (as under express or koa-mount).
  req.originalUrl = req.url;
  req.url = path;
  return handle(req, res);
}

let commonDiscovery;
/** Entra's `/common/v2.0`: a tenant's document with the issuer template and common's
 * own endpoints (only those three are served here). */
async function common(path, req, res) {
  const { search } = new URL(req.url, entraBase);
  switch (path) {
    case '/.well-known/openid-configuration': {
      if (!commonDiscovery) {
        const doc = await (await fetch(`${entraBase}/${PERSONAL_TENANT}/v2.0/.well-known/openid-configuration`)).json();
        // Common serves only these endpoints; the redirect's `iss` is the tenant's.
        for (const key of Object.keys(doc)) if (key.endsWith('_endpoint')) delete doc[key];
        delete doc.authorization_response_iss_parameter_supported;
        commonDiscovery = {
          ...doc,
          issuer: `${entraBase}/{tenantid}/v2.0`,
          authorization_endpoint: `${entraBase}/common/v2.0/auth`,
          token_endpoint: `${entraBase}/common/v2.0/token`,
          jwks_uri: `${entraBase}/common/v2.0/jwks`,
        };
      }
      return answer(res, 200, commonDiscovery);
    }
    case '/auth':
      return redirect(res, `/common/v2.0/sign-in${search}`);
    case '/sign-in': {
      if (req.method !== 'POST') return answer(res, 200, SIGN_IN_PAGE, 'text/plain');
      const identity = await postedIdentity(req);
      const tenant = identity.claims.tid;
      if (!TENANT_ID.test(tenant ?? '')) return answer(res, 400, { error: 'the identity has no tid (a tenant id)' });
      const handOff = crypto.randomUUID();
      handOffs.set(handOff, { identity, issuer: tenantProvider(tenant).provider.issuer });
      return redirect(res, `/${tenant}/v2.0/auth${search}&login_hint=${handOff}`);
    }
    case '/token': {
      const body = await readBody(req);
      const tenant = codeTenants.get(new URLSearchParams(body).get('code'));
      if (!tenant) return answer(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
      const reply = await fetch(`${entraBase}/${tenant}/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' },
        body,
      });
      return answer(res, reply.status, await reply.text(), reply.headers.get('content-type'));
    }
    case '/jwks':
      return answer(res, 200, { keys: [publicJwk(entraKey)] });
    default:
      return answer(res, 404, { error: 'not_found' });
  }
}

/** Serves `handle` on the port; what it throws (a malformed identity, a sign-in page
 * without its interaction cookie) is answered 400. */
function listen(listenPort, handle, what) {
  http
    .createServer((req, res) => {
      handle(req, res).catch((err) => {
        console.error(`${req.method} ${req.url.split('?')[0]}: ${err.message}`);
        if (!res.headersSent) answer(res, 400, { error: err.message });
      });
    })
    .listen(listenPort, '127.0.0.1', () => console.log(what));
}

listen(port, async (req, res) => serve(google, '', req, res), `Google-like OpenID provider at ${googleIssuer}`);

listen(entraPort, async (req, res) => {
  const { pathname } = new URL(req.url, entraBase);
  const [, tenant, version] = pathname.split('/');
  const mount = `/${tenant}/v2.0`;
  if (version !== 'v2.0') return answer(res, 404, { error: 'not_found' });
  if (tenant === 'common') return common(pathname.slice(mount.length), req, res);
  if (TENANT_ID.test(tenant)) return serve(tenantProvider(tenant), mount, req, res);
  return answer(res, 404, { error: 'not_found' });
}, `Entra-like OpenID provider at ${entraBase}/{tenant}/v2.0 (multi-tenant: ${entraBase}/common/v2.0)`);
