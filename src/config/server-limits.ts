/**
 * Checks the gateway's time and size limits against what Node accepts, so
 * that `portcullis validate` (and a reload) refuses a config that would
 * otherwise pass and then fail at start, or run with a limit Node silently
 * reads another way:
 * - http.createServer throws ERR_OUT_OF_RANGE when headersTimeout is longer
 *   than requestTimeout;
 * - 0 turns Node's header, request and keep-alive timeouts off (a slowloris
 *   client could then hold a connection for ever), and a max header size of 0
 *   means Node's own default;
 * - a timer longer than 2^31-1 ms overflows: Node warns and fires it after
 *   1 ms, which would cut every TLS handshake, HTTP/2 stream or idle
 *   connection at once.
 */
import type { ConfigPath } from './errors.js';
import type { Config } from './schema.js';
import { MAX_TIMER_MS, parseDuration, parseSize } from './units.js';

/** llhttp counts header bytes in 32 bits. */
const MAX_HEADER_SIZE = 2 ** 32 - 1;

type Report = (path: ConfigPath, message: string) => void;

export function checkServerLimits(config: Config, report: Report): void {
  const limits = config.gateway.limits;
  const at = (key: string): ConfigPath => ['gateway', 'limits', key];

  const timers: Array<[ConfigPath, string]> = [
    [at('headers_timeout'), limits.headers_timeout],
    [at('request_timeout'), limits.request_timeout],
    [at('keepalive_timeout'), limits.keepalive_timeout],
    [at('body_rate_window'), limits.body_rate_window],
    [at('max_event_loop_delay'), limits.max_event_loop_delay],
    [['gateway', 'shutdown_timeout'], config.gateway.shutdown_timeout],
    [['gateway', 'drain_delay'], config.gateway.drain_delay],
  ];
  config.listeners.forEach((listener, i) => {
    if (listener.tls?.session_tickets) timers.push([['listeners', i, 'tls', 'ticket_key_rotation'], listener.tls.ticket_key_rotation]);
  });
  timers.push([['store', 'timeout'], config.store.timeout], [['store', 'connect_timeout'], config.store.connect_timeout]);
  config.services.forEach((service, i) => {
    const base: ConfigPath = ['services', i];
    timers.push(
      [[...base, 'timeouts', 'connect'], service.timeouts.connect],
      [[...base, 'timeouts', 'response'], service.timeouts.response],
      [[...base, 'timeouts', 'idle'], service.timeouts.idle],
      [[...base, 'keepalive_timeout'], service.keepalive_timeout],
    );
    const { active, passive } = service.health;
    if (active) timers.push([[...base, 'health', 'active', 'interval'], active.interval], [[...base, 'health', 'active', 'timeout'], active.timeout]);
    if (passive) timers.push([[...base, 'health', 'passive', 'window'], passive.window], [[...base, 'health', 'passive', 'cooldown'], passive.cooldown]);
    if (service.breaker) timers.push([[...base, 'breaker', 'open_for'], service.breaker.open_for]);
  });
  for (const [path, text] of timers) {
    if (parseDuration(text) > MAX_TIMER_MS) report(path, `${JSON.stringify(text)} is too long: Node's timers wait at most 24d`);
  }

  const headersMs = parseDuration(limits.headers_timeout);
  const requestMs = parseDuration(limits.request_timeout);
  for (const [key, ms] of [['headers_timeout', headersMs], ['request_timeout', requestMs], ['keepalive_timeout', parseDuration(limits.keepalive_timeout)]] as const) {
    if (ms === 0) report(at(key), `must be longer than 0: Node reads 0 as no limit at all, which lets a client hold a connection open for ever`);
  }
  if (headersMs > 0 && requestMs > 0 && headersMs > requestMs) {
    report(
      at('headers_timeout'),
      `${JSON.stringify(limits.headers_timeout)} is longer than request_timeout (${JSON.stringify(limits.request_timeout)}): the request head is part of the request, so headers_timeout must be at most request_timeout`,
    );
  }

  const headerSize = parseSize(limits.max_header_size);
  if (headerSize === 0) report(at('max_header_size'), 'must be more than 0 bytes (Node reads 0 as its own default, 16KiB)');
  else if (headerSize > MAX_HEADER_SIZE) report(at('max_header_size'), `${JSON.stringify(limits.max_header_size)} is more than Node's parser can count (under 4GiB)`);
}
