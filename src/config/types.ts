/** Schema building blocks shared by the top-level schema and every policy's schema. */
import { Type, type SchemaOptions, type TObject, type TSchema, type TString } from '@sinclair/typebox';

/** "250ms", "5s", "1m", "1h", "1d". Convert with parseDuration at compile time. */
export const Duration = (options: SchemaOptions = {}): TString => Type.String({ ...options, format: 'duration' });

/**
 * A duration something waits for with a Node timer (a timeout, an interval, a
 * cooldown): at most 24d, since Node fires longer timers after 1 ms.
 */
export const Timer = (options: SchemaOptions = {}): TString => Type.String({ ...options, format: 'timer' });

/** "512KiB", "1MiB", or a number of bytes. Convert with parseSize at compile time. */
export const Size = (options: SchemaOptions = {}) =>
  Type.Union([Type.String({ format: 'size' }), Type.Integer({ minimum: 0 })], options);

/** A value the admin API and logs must never show. */
export const Secret = (options: SchemaOptions = {}): TString => Type.String({ ...options, 'x-secret': true, minLength: 1 });

/** An IPv4 or IPv6 address or CIDR block. */
export const Cidr = (options: SchemaOptions = {}): TString => Type.String({ ...options, format: 'cidr' });

/** Fields every policy accepts; the pipeline implements them once. */
export const CommonPolicyFields = {
  mode: Type.Optional(
    Type.Union([Type.Literal('enforce'), Type.Literal('monitor')], {
      default: 'enforce',
      description: 'monitor records what the policy would have refused and lets the request pass',
    }),
  ),
  fail: Type.Optional(
    Type.Union([Type.Literal('closed'), Type.Literal('open')], {
      default: 'closed',
      description: 'what happens when the policy itself fails: closed refuses the request, open lets it pass',
    }),
  ),
};

/**
 * What validation needs to know of a policy: its name and schemas. Policy
 * definitions (pipeline/policy.ts) satisfy it; config/ stays a leaf that
 * knows no pipeline.
 */
export interface PolicySchemas {
  readonly name: string;
  readonly config: TObject;
  /** The schema of a consumer credential for this authentication method. */
  readonly credentials?: TSchema;
}
