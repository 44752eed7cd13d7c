/**
 * The package's entry for embedding (`import { Gateway } from 'portcullis'`):
 * what a program needs to run a gateway from a config file, reload it, stop it
 * and read its config errors; and what a receiver of defense webhooks runs to
 * check one (signature, time, delivery id seen once). The CLI (dist/cli.js, the `portcullis` bin) is the
 * other entry; everything else is internal and may change between versions.
 */
export { Gateway, type GatewayOptions, type ReloadResult } from './gateway.js';
export { loadConfig } from './load-config.js';
export { formatIssue, InvalidConfigError, type ConfigIssue } from './config/errors.js';
export { verifyWebhook, verifyWebhookSignature, SeenDeliveries, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_S, type WebhookVerdict } from './defense/notify.js';
