/** Calls the admin API of a test gateway with a bearer token. */
import { createHash } from 'node:crypto';
import { send, type SimpleResponse } from './gateway.js';

export const TOKENS = {
  admin: 'pca_admin-token-for-tests-0123456789abcdef',
  operator: 'pca_operator-token-for-tests-0123456789abcd',
  viewer: 'pca_viewer-token-for-tests-0123456789abcdef',
} as const;

export const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** The admin section with one token per built-in role (named after the role). */
export function adminSection(extra = ''): string {
  return `admin:
  address: "127.0.0.1:0"
  api:
    tokens:
      - { name: alice, role: admin, token_sha256: "${sha(TOKENS.admin)}" }
      - { name: olly, role: operator, token_sha256: "${sha(TOKENS.operator)}" }
      - { name: vic, role: viewer, token_sha256: "${sha(TOKENS.viewer)}" }
${extra}`;
}

export interface AdminClient {
  call(method: string, path: string, options?: { body?: unknown; yaml?: string; ifMatch?: string; token?: string }): Promise<SimpleResponse>;
}

export function adminClient(base: string, token: string = TOKENS.admin): AdminClient {
  return {
    call(method, path, options = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? token}` };
      let body: string | undefined;
      if (options.yaml !== undefined) {
        headers['content-type'] = 'application/yaml';
        body = options.yaml;
      } else if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.body);
      }
      if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
      return send(base, path, { method, headers, body });
    },
  };
}
