// A local OpenID provider for the OAuth tests: oauth2-mock-server (discovery, JWKS,
// authorize with PKCE, token with a signed id_token carrying the nonce).
//
// Tests choose the identity per authorization: they append
// `mock_claims=<base64url JSON>` to the authorization URL; the claims are merged
// into that code's id_token. `bad_signature: true` corrupts the id_token's signature.
//
// With a second port it also answers discovery the way Microsoft Entra's multi-tenant
// endpoints do (`https://login.microsoftonline.com/common/v2.0`): the document's
// issuer is the template `http://127.0.0.1:PORT2/{tenantid}/v2.0`, with the mock's own
// endpoints and keys. Tokens then carry the real issuer (the template with the user's
// `tid`) and no `email_verified`, as the tests' claims say (Entra sends none).
//
// Usage: node server.mjs PORT [ENTRA_PORT]
import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2]);
const entraPort = process.argv[3] ? Number(process.argv[3]) : null;
const server = new OAuth2Server();
const claimsByCode = new Map();

await server.issuer.keys.generate('RS256');
server.issuer.url = `http://127.0.0.1:${port}`;

server.service.on('beforeAuthorizeRedirect', (redirect, req) => {
  const code = redirect.url.searchParams.get('code');
  if (code && typeof req.query.mock_claims === 'string') {
    claimsByCode.set(code, JSON.parse(Buffer.from(req.query.mock_claims, 'base64url').toString()));
  }
});

server.service.on('beforeTokenSigning', (token, req) => {
  const { bad_signature: _, ...claims } = claimsByCode.get(req.body?.code) ?? {};
  Object.assign(token.payload, claims);
});

server.service.on('beforeResponse', (response, req) => {
  const claims = claimsByCode.get(req.body?.code) ?? {};
  if (claims.bad_signature && response.body.id_token) {
    const [header, payload, signature] = response.body.id_token.split('.');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    response.body.id_token = [header, payload, flipped].join('.');
  }
});

await server.start(port, '127.0.0.1');
console.log(`OpenID provider at ${server.issuer.url}`);

if (entraPort) {
  const entra = http.createServer(async (req, res) => {
    if (!req.url.endsWith('/.well-known/openid-configuration')) {
      res.writeHead(404).end();
      return;
    }
    const own = await (await fetch(`${server.issuer.url}/.well-known/openid-configuration`)).json();
    own.issuer = `http://127.0.0.1:${entraPort}/{tenantid}/v2.0`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(own));
  });
  entra.listen(entraPort, '127.0.0.1', () => console.log(`Entra-like discovery at http://127.0.0.1:${entraPort}/common/v2.0`));
}
