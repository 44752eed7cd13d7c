/**
 * The gateway-wide guards the request handler consults (one set per
 * gateway, shared by every listener, living as long as the gateway):
 * overload shedding and the slow-body watch.
 */
import type { Logger } from 'pino';
import { BodyRateGuard } from './body-rate.js';
import { OverloadGuard } from './overload.js';

export class ServerGuards {
  readonly overload: OverloadGuard;
  readonly bodyRate = new BodyRateGuard();

  constructor(logger: Logger) {
    this.overload = new OverloadGuard(logger);
  }

  close(): void {
    this.overload.close();
    this.bodyRate.close();
  }
}
