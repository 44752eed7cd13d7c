/** The store's health changes (stores/health.ts) as events: store.unavailable once per incident, store.recovered when it answers again. */
import type { StoreHealthChange } from '../stores/health.js';
import type { GatewayEvent } from './gateway-events.js';

export function storeHealthEvent(change: StoreHealthChange): GatewayEvent {
  if (change.state === 'down') {
    return {
      type: 'store.unavailable',
      source: 'store',
      message: `the ${change.kind} store stopped answering: limits follow each policy's fail mode until it is back`,
      details: { store: change.kind, error: change.error },
    };
  }
  return {
    type: 'store.recovered',
    source: 'store',
    message: `the ${change.kind} store answers again`,
    details: { store: change.kind, down_ms: change.downMs, failed_operations: change.failedOperations },
  };
}
