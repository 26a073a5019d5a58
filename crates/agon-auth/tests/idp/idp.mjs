// A real OpenID Connect provider on loopback for the SSO tests: `node idp.mjs PORT REDIRECT_URI`.
// Its development login form accepts any login name; `unverified` gets an unverified email, `nomail` none.
import Provider from 'oidc-provider';

const [port, redirect] = [Number(process.argv[2]), process.argv[3]];
const claimsOf = (id) => {
  if (id === 'nomail') return { sub: id };
  return { sub: id, email: `${id}@idp.test`, email_verified: id !== 'unverified', name: `${id} from the provider` };
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: 'agon', client_secret: 'agon-secret', redirect_uris: [redirect] }],
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => claimsOf(id) }),
  claims: { email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['agon-test-cookie-key'] },
  conformIdTokenClaims: false,
});
provider.listen(port, '127.0.0.1', () => console.log('ready'));
