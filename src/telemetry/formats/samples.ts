/**
 * The sample records docs/siem.md shows in every format; the formats test
 * checks that each sample in the page is what the formatter writes for them.
 */
import type { FormatName } from './index.js';
import { formatter } from './index.js';
import type { Product } from './product.js';
import type { SinkRecord } from './record.js';

/** The docs show version 0.1.0; a running gateway writes its own. */
export const SAMPLE_PRODUCT: Product = { vendor: 'Portcullis', name: 'Portcullis', version: '0.1.0' };

export const SAMPLES: Readonly<Record<'threat' | 'authentication' | 'access', SinkRecord>> = {
  threat: {
    stream: 'events',
    event: {
      time: '2026-12-07T12:00:00.123Z',
      node: 'gw-1',
      type: 'waf.sqli',
      category: 'threat',
      severity: 'high',
      action: 'monitored',
      message: 'SQL injection in query:id',
      source: 'waf',
      code: 'request_blocked',
      reason: 'sqli',
      request: {
        id: '4f1c2a9e7d3b',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        method: 'GET',
        path: '/v1/items',
        host: 'api.example.com',
        clientIp: '198.51.100.7',
        route: 'items',
        service: 'catalog',
        consumer: 'mobile-app',
        credentialId: 'key-2',
        status: 403,
      },
      details: { rule: 'sqli-union', target: 'query:id', paranoia: 1, score: 5, sample: "1' OR '1'='1" },
    },
  },
  authentication: {
    stream: 'events',
    event: {
      time: '2026-12-07T12:00:01.456Z',
      node: 'gw-1',
      type: 'auth.invalid_credentials',
      category: 'authentication',
      severity: 'medium',
      action: 'blocked',
      message: 'the token was issued by https://other.example.com, not the configured issuer',
      source: 'jwt',
      code: 'invalid_credentials',
      reason: 'wrong_issuer',
      request: { id: '9a8b7c6d5e4f', method: 'POST', path: '/v1/orders', host: 'api.example.com', clientIp: '203.0.113.9', route: 'orders', service: 'orders', status: 401 },
      details: { issuer: 'https://other.example.com' },
    },
  },
  access: {
    stream: 'access',
    access: {
      time: '2026-12-07T12:00:02.789Z',
      node: 'gw-1',
      requestId: '1d2e3f4a5b6c',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      clientIp: '198.51.100.7',
      method: 'GET',
      path: '/v1/items/42',
      host: 'api.example.com',
      route: 'items',
      service: 'catalog',
      target: '10.0.0.5:8080',
      consumer: 'mobile-app',
      status: 200,
      completed: true,
      bytesSent: 512,
      upstreamMs: 3.21,
      totalMs: 4.05,
    },
  },
};

/** A sample as the docs show it: JSON formats pretty-printed, CEF as the line. */
export function renderSample(format: FormatName, sample: keyof typeof SAMPLES): string {
  const line = formatter(format, SAMPLE_PRODUCT)(SAMPLES[sample]);
  return format === 'cef' ? line : JSON.stringify(JSON.parse(line), null, 2);
}
