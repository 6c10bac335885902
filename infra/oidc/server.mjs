// A local OpenID provider for the OAuth tests: oauth2-mock-server (discovery, JWKS,
// authorize with PKCE, token with a signed id_token carrying the nonce).
//
// Tests choose the identity per authorization: they append
// `mock_claims=<base64url JSON>` to the authorization URL; the claims are merged
// into that code's id_token. `bad_signature: true` corrupts the id_token's signature.
//
// Usage: node server.mjs PORT
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2]);
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
