import { Type } from '@sinclair/typebox';
import { Duration, Timer, Secret } from '../../config/types.js';

export const LdapAuthSchema = Type.Object({
  url: Type.String({ pattern: '^ldaps?://', description: 'ldaps://host:636, or ldap://host:389 with start_tls' }),
  start_tls: Type.Boolean({ default: false, description: 'upgrade an ldap:// connection with StartTLS before binding' }),
  tls: Type.Object(
    {
      ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA certificate(s) to trust for the directory, usually ${file:...}' })),
      server_name: Type.Optional(Type.String({ minLength: 1, description: 'the name the directory certificate must carry, when not the URL host' })),
    },
    { additionalProperties: false, default: {} },
  ),
  allow_insecure: Type.Boolean({ default: false, description: 'allow ldap:// without StartTLS: passwords cross the network in clear' }),
  bind_dn: Type.String({ minLength: 1, description: 'the service account that searches for users' }),
  bind_password: Secret({ description: 'its password; use ${env:...} or ${file:...}' }),
  base_dn: Type.String({ minLength: 1, description: 'where users are searched' }),
  filter: Type.String({ default: '(uid={username})', description: 'the search filter; {username} is replaced, RFC 4515-escaped' }),
  scope: Type.Union([Type.Literal('sub'), Type.Literal('one')], { default: 'sub' }),
  username_attribute: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z][A-Za-z0-9-]*$',
      description: 'the attribute whose value, as the directory holds it, names the consumer; default: the attribute {username} is compared with in the filter',
    }),
  ),
  group_attribute: Type.Optional(Type.String({ minLength: 1, description: 'an attribute of group DNs (memberOf) whose first RDN values become consumer groups' })),
  timeout: Timer({ default: '5s', description: 'time allowed for connecting and for each directory operation' }),
  cache: Type.Object(
    {
      ttl: Duration({ default: '60s', description: 'how long a successful bind is remembered' }),
      max_entries: Type.Integer({ minimum: 0, default: 10_000 }),
    },
    { additionalProperties: false, default: {} },
  ),
  consumer: Type.Object(
    {
      mapping: Type.Record(Type.String(), Type.String(), { default: {}, description: 'directory username → configured consumer name' }),
      known_only: Type.Boolean({ default: false, description: 'refuse users that are no configured consumer (after mapping)' }),
      prefix: Type.Optional(
        Type.String({
          pattern: '^([A-Za-z0-9._-]{1,64}:)?$',
          description: 'put before the names of users that are no configured consumer, ending in ":", when another method of the route names consumers too',
        }),
      ),
    },
    { additionalProperties: false, default: {} },
  ),
  keep_credential: Type.Boolean({ default: false, description: 'forward the Authorization header to the upstream' }),
  realm: Type.String({ default: 'portcullis' }),
});
