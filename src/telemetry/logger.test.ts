/** What the logger writes for an error: a dependency's warning without a stack, a bug's error with one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const { logger } = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { logger, lines };
}

describe('logger', () => {
  it('logs a warning\'s error as type, message (with its cause) and code, without a stack trace', () => {
    const { logger, lines } = capture();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    logger.warn({ err: new TypeError('fetch failed', { cause: refused }), url: 'http://127.0.0.1:9/jwks' }, 'JWKS fetch failed; keeping the last good keys');
    assert.deepEqual(lines[0]?.err, { type: 'TypeError', message: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' });
    assert.equal(lines[0]?.url, 'http://127.0.0.1:9/jwks');
    assert.doesNotMatch(JSON.stringify(lines[0]), /\bat /);
  });

  it('keeps the stack of an error logged at error: that one is a bug to find', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('an event listener threw') }, 'an event listener failed');
    assert.match(String((lines[0]?.err as { stack?: string }).stack), /an event listener threw\n\s+at /);
  });
});
