import { Type } from '@sinclair/typebox';
import { Duration } from '../../config/types.js';

const Token = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' });

export const CorsSchema = Type.Object({
  origins: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'allowed origins: exact ("https://app.example.com"), "~ ^https://[a-z0-9-]+\\.example\\.com$" (RE2), or "*" (never with credentials)',
  }),
  methods: Type.Array(Type.String({ pattern: '^[A-Z]+$' }), {
    default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    description: 'methods a preflight may ask for',
  }),
  headers: Type.Array(Token, {
    default: ['authorization', 'content-type', 'x-requested-with'],
    description: 'request headers a preflight may ask for (CORS-safelisted ones are always allowed)',
  }),
  expose_headers: Type.Array(Token, { default: [], description: 'response headers scripts may read beyond the safelisted ones' }),
  credentials: Type.Boolean({ default: false, description: 'let browsers send cookies and read responses with them (Access-Control-Allow-Credentials)' }),
  max_age: Duration({ default: '10m', description: 'how long browsers may cache a preflight answer' }),
  reject_disallowed: Type.Boolean({
    default: false,
    description: 'refuse (403) cross-origin requests from origins not allowed, instead of only withholding the CORS headers',
  }),
});
