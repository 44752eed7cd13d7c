import { Type } from '@sinclair/typebox';
import { Size } from '../../config/types.js';

export const RequestSizeSchema = Type.Object({
  max_body: Size({ default: '1MiB', description: 'request body bytes; a larger Content-Length gets 413 at once, a chunked body is cut at this size with 413' }),
  max_url_length: Type.Optional(Size({ description: 'path and query; longer gets 414' })),
  max_query_params: Type.Optional(Type.Integer({ minimum: 0, description: 'query parameters; more gets 414' })),
  max_headers: Type.Optional(Type.Integer({ minimum: 1, description: 'header fields; more gets 431' })),
  max_header_size: Type.Optional(Size({ description: 'header names and values together; larger gets 431 (gateway.limits.max_header_size bounds every request first)' })),
});
