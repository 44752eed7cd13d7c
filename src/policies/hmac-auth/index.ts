/**
 * hmac-auth: HTTP Message Signatures (RFC 9421) with hmac-sha256 keys held by
 * consumers. A signature must cover the method, the authority, the request
 * target (@target-uri, @request-target, or @path with @query) and, when the
 * request has a body, a Content-Digest (RFC 9530) that matches the body. Its
 * "created" must be within max_age (and not past clock_skew in the future),
 * and a signature already accepted within that window is refused as a
 * replay. Replay memory is security state in the gateway's store
 * (`stores.secure`): it outlives reloads, a fleet sharing Redis refuses a
 * replay on any node, and no flood of other keys can evict it (when it is
 * full, new signatures are refused with a 503 rather than old ones forgotten).
 *
 * A signature that covers content-digest is always checked against the body,
 * `require_digest` or not (RFC 9530): `require_digest: false` only lets a
 * signature leave the digest out.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { ConfigError } from '../../config/errors.js';
import { parseDuration, parseSize } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { MISSING_CREDENTIALS } from '../../pipeline/events.js';
import { definePolicy, type ConsumerCredential } from '../../pipeline/policy.js';
import { quote } from '../../identity/basic.js';
import type { CountDecision } from '../../stores/store.js';
import { digestMatches } from './content-digest.js';
import { signatureBase } from './signature-base.js';
import { parseDictionary, type InnerList, type Member } from './structured-fields.js';
import type { AuthReason } from '../../pipeline/events.js';
import { HmacAuthCredentialSchema, HmacAuthSchema } from './schema.js';

type Credential = Static<typeof HmacAuthCredentialSchema>;
interface Key {
  readonly credential: ConsumerCredential<Credential>;
  readonly secret: Buffer;
}

const MAX_SIGNATURES = 8;
const MIN_SECRET = 32;

function keyIndex(credentials: readonly ConsumerCredential<Credential>[]): Map<string, Key> {
  const keys = new Map<string, Key>();
  for (const credential of credentials) {
    const secret = Buffer.from(credential.config.secret, 'utf8');
    if (secret.length < MIN_SECRET) throw new ConfigError(`an HMAC secret must be at least ${MIN_SECRET} bytes`, [...credential.path, 'secret'], true);
    const other = keys.get(credential.config.key_id);
    if (other) throw new ConfigError(`key_id "${credential.config.key_id}" is also used by consumer "${other.credential.consumer.name}"`, [...credential.path, 'key_id'], true);
    keys.set(credential.config.key_id, { credential, secret });
  }
  return keys;
}

/**
 * Whether the request has a body; undefined when only reading it can tell:
 * an HTTP/2 body need not announce a length, and may turn out empty.
 */
function hasBody(ctx: RequestContext): boolean | undefined {
  if (!ctx.hasBody) return false;
  return ctx.header('content-length') !== undefined || ctx.header('transfer-encoding') !== undefined ? true : undefined;
}

function coversTarget(components: readonly string[]): boolean {
  return components.includes('@target-uri') || components.includes('@request-target') || (components.includes('@path') && components.includes('@query'));
}

export default definePolicy({
  name: 'hmac-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by HTTP Message Signatures (RFC 9421) with shared HMAC keys.',
  config: HmacAuthSchema,
  credentials: HmacAuthCredentialSchema,
  compile(config, deps) {
    const keys = keyIndex(deps.credentials);
    const maxAgeSec = parseDuration(config.max_age) / 1000;
    const skewSec = parseDuration(config.clock_skew) / 1000;
    const maxBody = parseSize(config.max_body);
    const required = config.required_components;
    // One namespace for every route and snapshot: a signature is accepted once, wherever it is sent.
    // Security state: kept apart from keys unauthenticated callers create, so they cannot evict it.
    const replays = deps.stores.secure.counter('hmac-auth:replay');
    // Unknown keyids are checked against this, so they cost what a known one costs.
    const dummySecret = randomBytes(32);

    const challenge = {
      'www-authenticate': `Signature realm=${quote(config.realm)}`,
      'accept-signature': `sig1=(${[...new Set([...required, '@path', '@query', 'content-digest'])].map((c) => `"${c}"`).join(' ')});created;keyid;alg="hmac-sha256"`,
    };
    const missing = deny('unauthorized', { headers: challenge, event: { type: MISSING_CREDENTIALS, severity: 'low', message: 'no message signature' } });
    const refuse = (type: 'auth.malformed_credentials' | 'auth.invalid_credentials', message: string, reason: AuthReason): Deny =>
      deny('unauthorized', { headers: challenge, event: { type, severity: 'medium', reason, message: `hmac-auth: ${message}`, data: { method: 'hmac-auth' } } });
    const malformed = (message: string) => refuse('auth.malformed_credentials', message, 'malformed');
    const invalid = (message: string, reason: AuthReason) => refuse('auth.invalid_credentials', message, reason);
    const replayed = deny('unauthorized', {
      headers: challenge,
      event: { type: 'auth.replayed_signature', severity: 'high', message: 'hmac-auth: a signature already accepted was sent again' },
    });

    const accept = (ctx: RequestContext, key: Key): undefined => {
      ctx.authenticate(key.credential.consumer, key.credential.id, 'hmac-auth');
      if (!config.keep_credential) {
        ctx.removeUpstreamHeader('signature');
        ctx.removeUpstreamHeader('signature-input');
      }
      return undefined;
    };
    /** Remembers the signature until it could no longer be accepted anyway; the first to do so wins, atomically. */
    const acceptOnce = (ctx: RequestContext, key: Key, replayKey: string, expiresAt: number): Deny | undefined | Promise<Deny | undefined> => {
      const decide = (d: CountDecision) => (d.allowed ? accept(ctx, key) : replayed);
      const decision = replays.add(replayKey, 1, 1, Math.max(1, Math.ceil(expiresAt - Date.now())));
      return decision instanceof Promise ? decision.then(decide) : decide(decision);
    };

    return {
      onRequest(ctx) {
        const inputHeader = ctx.header('signature-input');
        const signatureHeader = ctx.header('signature');
        if (inputHeader === undefined && signatureHeader === undefined) return missing;
        if (inputHeader === undefined || signatureHeader === undefined) return malformed('Signature and Signature-Input must come together');
        let inputs: Map<string, Member>;
        let signatures: Map<string, Member>;
        try {
          inputs = parseDictionary(inputHeader);
          signatures = parseDictionary(signatureHeader);
        } catch {
          return malformed('unparseable Signature or Signature-Input');
        }
        if (inputs.size === 0 || inputs.size > MAX_SIGNATURES) return malformed('no signature, or too many');

        const body = hasBody(ctx);
        let reason = 'no signature covers what is required';
        let why: AuthReason = 'signature_missing_components';
        for (const [label, input] of inputs) {
          if (input.kind !== 'list') return malformed('a Signature-Input member is not an inner list');
          const signature = signatures.get(label);
          if (!signature || signature.kind !== 'item' || signature.value.type !== 'binary') return malformed(`no signature bytes for ${label}`);
          const checked = checkParams(input, maxAgeSec, skewSec);
          if (typeof checked === 'string') {
            reason = checked;
            why = /future|too old|expired/.test(checked) ? 'signature_expired' : checked.startsWith('alg') ? 'alg_not_allowed' : 'malformed';
            continue;
          }
          const base = signatureBase(ctx, input);
          if (!base.ok) {
            reason = base.reason;
            why = 'signature_missing_components';
            continue;
          }
          const covered = base.components;
          if (!required.every((c) => covered.includes(c)) || !coversTarget(covered)) continue;
          const digestSigned = covered.includes('content-digest');
          if (body === true && config.require_digest && !digestSigned) {
            reason = 'a request with a body must sign content-digest';
            why = 'signature_missing_components';
            continue;
          }

          const key = keys.get(checked.keyid);
          const mac = createHmac('sha256', key?.secret ?? dummySecret).update(base.base).digest();
          const given = signature.value.value;
          const match = given.length === mac.length && timingSafeEqual(given, mac);
          if (!key) return invalid('unknown keyid', 'unknown_key');
          if (!match) return invalid('bad signature', 'bad_signature');

          const replayKey = given.toString('base64');
          const expiresAt = (checked.created + maxAgeSec + skewSec) * 1000;
          // Without require_digest a signature may leave the body out; one that covers the digest still has it checked.
          if (!digestSigned && (body === false || !config.require_digest)) return acceptOnce(ctx, key, replayKey, expiresAt);
          const digestHeader = ctx.header('content-digest');
          return ctx.readBody(maxBody).then((bytes) => {
            // A body nobody announced (HTTP/2) is held to the same rule as one that was.
            if (!digestSigned) {
              if (bytes.length > 0) return invalid('a request with a body must sign content-digest', 'signature_missing_components');
            } else if (digestHeader === undefined || !digestMatches(digestHeader, bytes)) {
              return invalid('Content-Digest does not match the body', 'digest_mismatch');
            }
            return acceptOnce(ctx, key, replayKey, expiresAt);
          });
        }
        return invalid(reason, why);
      },
    };
  },
});

/** The signature parameters we require and check: created (in the window), keyid, optional expires and alg. */
function checkParams(input: InnerList, maxAgeSec: number, skewSec: number): { created: number; keyid: string } | string {
  const created = input.params.get('created');
  const keyid = input.params.get('keyid');
  const expires = input.params.get('expires');
  const alg = input.params.get('alg');
  if (created?.type !== 'integer') return 'no "created" parameter';
  if (keyid?.type !== 'string') return 'no "keyid" parameter';
  if (alg !== undefined && (alg.type !== 'string' || alg.value !== 'hmac-sha256')) return 'alg is not hmac-sha256';
  const now = Date.now() / 1000;
  if (created.value > now + skewSec) return 'created is in the future';
  if (created.value < now - maxAgeSec) return 'the signature is too old';
  if (expires !== undefined && (expires.type !== 'integer' || expires.value + skewSec < now)) return 'the signature has expired';
  return { created: created.value, keyid: keyid.value };
}
