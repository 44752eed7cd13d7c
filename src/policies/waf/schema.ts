import { Type } from '@sinclair/typebox';
import { Size } from '../../config/types.js';

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', description: 'a header name' });

export const WafExclusionSchema = Type.Object(
  {
    rules: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'rule ids (sqli.tokens) or categories (sqli, xss, lfi, rfi, rce, ssti, ssrf, ldap, proto, protocol); all rules when left out',
      }),
    ),
    targets: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'where: "path", "query:q", "header:referer", "cookie:prefs", "body:user.bio", "body:items[].*", "query:*"; everywhere when left out',
      }),
    ),
    paths: Type.Optional(
      Type.Array(Type.String({ format: 'route-path' }), { minItems: 1, description: 'request paths: "/prefix", "= /exact" or "~ regex"; every path when left out' }),
    ),
  },
  { additionalProperties: false },
);

export const WafSchema = Type.Object({
  engine: Type.Union([Type.Literal('native'), Type.Literal('crs'), Type.Literal('both')], {
    default: 'native',
    description:
      'native: the gateway\'s own detectors; crs: the OWASP Core Rule Set v4 (vendored, or rules_dir) run by the SecLang engine; both: either one refuses',
  }),
  paranoia: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)], {
    default: 1,
    description: "1: rules with few false positives; 2-4: stricter rules that need more tuning (CRS's blocking paranoia level; the native detectors stop at 2)",
  }),
  rules_dir: Type.Optional(Type.String({ minLength: 1, description: 'engine crs: a directory of CRS rule files (REQUEST-*.conf and their .data) in place of the vendored CRS v4.28.0' })),
  include: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description:
      'engine crs: SecLang files (a * in the file name allowed) loaded after the setup and before the CRS rules, e.g. CRS plugins\' *-config.conf and *-before.conf; files named *-after.conf load after the rules',
  }),
  allowed_methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1, description: "engine crs: tx.allowed_methods (CRS's default: GET HEAD POST OPTIONS)" })),
  allowed_content_types: Type.Optional(
    Type.Array(Type.String({ pattern: '^[a-z0-9.+-]+/[a-z0-9.+*-]+$' }), { minItems: 1, description: 'engine crs: tx.allowed_request_content_type (the request Content-Types CRS rule 920420 lets through)' }),
  ),
  unmapped_unicode: Type.Union([Type.Literal('letter'), Type.Literal('low-byte')], {
    default: 'letter',
    description:
      "engine crs: how t:urlDecodeUni (after t:utf8toUnicode) reads a character ModSecurity's best-fit table (code page 20127) has no ASCII for, such as Arabic, Cyrillic, Hangul or CJK: letter reads it as the letter x (a Unicode space as a space, a zero-width character as nothing); low-byte as its code point's low byte, as ModSecurity and Coraza do (U+0627, Arabic alef, reads as an apostrophe), for an upstream that truncates characters to bytes. Full-width ASCII reads as ASCII either way",
  }),
  threshold: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 5,
    description: "the inbound anomaly score that blocks a request (CRS's inbound_anomaly_score_threshold); one critical rule scores 5",
  }),
  status: Type.Integer({ minimum: 400, maximum: 499, default: 403, description: 'the status of a blocked request' }),
  response: Type.Object(
    {
      enabled: Type.Boolean({
        default: false,
        description:
          "engine crs: run CRS's response rules (RESPONSE-95x data leakage and web shells, phases 3 and 4) on the upstream's status, headers and body start; a refused response is answered 502 in its place",
      }),
      body_limit: Size({
        default: '64KiB',
        description: "the body's first bytes the rules read, at most 1MiB (ModSecurity's SecResponseBodyLimit); the head waits until they arrived, the rest streams unread",
      }),
      content_types: Type.Array(Type.String({ pattern: '^[a-z0-9.+-]+/[a-z0-9.+*-]+$' }), {
        default: ['text/plain', 'text/html', 'text/xml', 'application/json'],
        description: "response Content-Types whose body the rules read (ModSecurity's SecResponseBodyMimeType); others: the head only",
      }),
      threshold: Type.Integer({ minimum: 1, maximum: 1000, default: 4, description: "the outbound anomaly score that refuses a response (CRS's outbound_anomaly_score_threshold)" }),
    },
    { additionalProperties: false, default: {} },
  ),
  inspect: Type.Object(
    {
      path: Type.Boolean({ default: true, description: 'inspect the request path segments' }),
      query: Type.Boolean({ default: true, description: 'inspect query parameter names and values' }),
      cookies: Type.Boolean({ default: true, description: 'inspect cookie values' }),
      headers: Type.Array(HeaderName, {
        default: ['user-agent', 'referer'],
        description: 'headers whose values every detector inspects (every header is checked for log4shell and shellshock)',
      }),
      body: Type.Boolean({ default: true, description: 'inspect JSON, form and multipart bodies' }),
    },
    { additionalProperties: false, default: {} },
  ),
  body: Type.Object(
    {
      max_size: Size({ default: '128KiB', description: 'the largest body inspected; at most gateway.limits.max_buffered_body' }),
      oversize: Type.Union([Type.Literal('reject'), Type.Literal('skip')], {
        default: 'reject',
        description: 'a larger body: reject (413), or skip inspection when Content-Length announces it',
      }),
      content_types: Type.Array(Type.Union([Type.Literal('json'), Type.Literal('form'), Type.Literal('multipart'), Type.Literal('text')]), {
        default: ['json', 'form', 'multipart'],
        description: 'body kinds to inspect; "text" adds text/* and XML bodies as one value',
      }),
      unknown_types: Type.Union([Type.Literal('text'), Type.Literal('refuse')], {
        default: 'text',
        description:
          'bodies of any other type (application/octet-stream, application/x-json, none): text inspects them as one value, or as JSON when the first non-whitespace character (after any byte order mark) is {, [ or "; refuse blocks them (protocol.body-type)',
      }),
      max_depth: Type.Integer({ minimum: 1, maximum: 1024, default: 64, description: 'deeper JSON is blocked' }),
      max_values: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'a body with more keys and values is blocked' }),
    },
    { additionalProperties: false, default: {} },
  ),
  disable: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'rule ids or categories turned off everywhere on this route' }),
  exclusions: Type.Array(WafExclusionSchema, { default: [], description: 'rules turned off for some targets or paths (false-positive tuning)' }),
});
