/**
 * Which consumer a verified identity is: a claim names it (sub, client_id,
 * a username), optionally mapped to a configured consumer. A name that is no
 * configured consumer becomes a consumer of its own with the groups the
 * identity carries, unless the policy accepts configured consumers only.
 *
 * A claim value that happens to equal a configured consumer's name is that
 * consumer only when the operator says so (`mapping`, or `match_names` for an
 * issuer that alone assigns the claim); otherwise the identity is refused
 * rather than passed upstream under the configured consumer's name. Without
 * this, any user of any configured issuer whose `sub` they could choose
 * ("admin") would inherit that consumer's groups, limits and name.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError } from '../config/errors.js';
import type { Consumer } from '../pipeline/context.js';
import { claimAt, isHeaderSafe, stringValues } from './claims.js';

const consumerMappingFields = {
  claim: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
    default: 'sub',
    description: 'the claim that names the consumer; a list means the first one present',
  }),
  mapping: Type.Record(Type.String(), Type.String(), {
    default: {},
    description: 'claim value → configured consumer name',
  }),
  known_only: Type.Boolean({ default: false, description: 'refuse identities that are no configured consumer (after mapping)' }),
  match_names: Type.Boolean({
    default: false,
    description:
      'a claim value equal to a configured consumer name is that consumer; only for an issuer that alone assigns the claim. Otherwise such a value must be listed in mapping, or the identity is refused',
  }),
  groups_claim: Type.Optional(Type.String({ minLength: 1, description: 'a claim whose strings are added to the consumer groups' })),
  prefix: Type.Optional(
    Type.String({
      pattern: '^([A-Za-z0-9._-]{1,64}:)?$',
      description:
        'put before the names of identities that are no configured consumer, ending in ":" (a configured name never holds one), so two issuers\' "jdoe" are two consumers; "" for none',
    }),
  ),
};

export const ConsumerMappingSchema = Type.Object(consumerMappingFields, { additionalProperties: false, default: {} });

/** The same settings for one issuer of several (jwt issuers[].consumer): present only when given. */
export const IssuerConsumerMappingSchema = Type.Object(consumerMappingFields, {
  additionalProperties: false,
  description: 'who this issuer\'s tokens are: its claim, mapping, groups claim and name prefix; nothing here applies to another issuer',
});

export type ConsumerMapping = Static<typeof ConsumerMappingSchema>;

export interface ResolvedIdentity {
  readonly consumer: Consumer;
  /** The claim value that named the consumer, before mapping. */
  readonly subject: string;
}

/**
 * An unprefixed name holding ":": refused, since it could be another party's
 * prefixed name ("partner:jdoe"). Configured names never hold ":" and
 * prefixed names always do, so unprefixed names without one keep the
 * namespaces apart.
 */
export interface NamespaceRefusal {
  readonly refused: 'namespace';
}

const NAMESPACE_REFUSAL: NamespaceRefusal = { refused: 'namespace' };

/** The event reason for a NamespaceRefusal (the name itself stays out of logs). */
export const NAMESPACE_REASON =
  'the identity\'s name holds ":" but this party has no consumer.prefix: it could be another party\'s prefixed name; set consumer.prefix (such as "corp:") or map it';

/** The event type for a NamespaceRefusal. */
export const NAMESPACE_EVENT = 'auth.consumer_namespace';

export class ConsumerResolver {
  private readonly claims: readonly string[];

  constructor(
    private readonly config: ConsumerMapping,
    private readonly consumers: ReadonlyMap<string, Consumer>,
    /** Where the mapping sits relative to the policy, for config errors. */
    path: ReadonlyArray<string | number> = ['consumer'],
  ) {
    this.claims = typeof config.claim === 'string' ? [config.claim] : config.claim;
    for (const [value, name] of Object.entries(config.mapping)) {
      if (!consumers.has(name)) throw new ConfigError(`mapping "${value}" names no configured consumer "${name}"`, [...path, 'mapping', value]);
    }
  }

  /** The names this resolver gives identities that are no configured consumer, for PolicyInstance.identityNamespaces; none with known_only. */
  namespaces(issuer: string): { issuer: string; prefix: string }[] {
    return this.config.known_only ? [] : [{ issuer, prefix: this.config.prefix ?? '' }];
  }

  /** Resolves from claims; undefined when no usable claim names a consumer (the token is then refused), or a NamespaceRefusal. */
  fromClaims(claims: Readonly<Record<string, unknown>>): ResolvedIdentity | undefined {
    const resolved = this.resolveClaims(claims);
    return resolved && 'refused' in resolved ? undefined : resolved;
  }

  /** As fromClaims, telling a name refused for crossing into another party's namespace apart. */
  resolveClaims(claims: Readonly<Record<string, unknown>>): ResolvedIdentity | NamespaceRefusal | undefined {
    let subject: string | undefined;
    for (const name of this.claims) {
      const value = claimAt(claims, name);
      if (value !== undefined) {
        subject = typeof value === 'string' ? value : undefined;
        break;
      }
    }
    if (subject === undefined) return undefined;
    const extraGroups = this.config.groups_claim ? stringValues(claimAt(claims, this.config.groups_claim)) : [];
    return this.resolveName(subject, extraGroups);
  }

  /** Resolves a plain name (an LDAP username) with groups found elsewhere. */
  fromName(subject: string, extraGroups: readonly string[] = []): ResolvedIdentity | undefined {
    const resolved = this.resolveName(subject, extraGroups);
    return resolved && 'refused' in resolved ? undefined : resolved;
  }

  /** As fromName, telling a name refused for crossing into another party's namespace apart. */
  resolveName(subject: string, extraGroups: readonly string[] = []): ResolvedIdentity | NamespaceRefusal | undefined {
    if (!isHeaderSafe(subject)) return undefined;
    const explicit = Object.hasOwn(this.config.mapping, subject);
    const mapped = explicit ? this.config.mapping[subject]! : subject;
    const prefix = this.config.prefix ?? '';
    let known = this.consumers.get(mapped);
    // A configured consumer's name the operator did not tie to this issuer: never impersonated. With a
    // prefix the identity keeps its own, namespaced name ("corp:admin"), which no configured name can be.
    if (known && !explicit && !this.config.match_names) {
      if (prefix === '') return undefined;
      known = undefined;
    }
    if (known) {
      if (extraGroups.length === 0) return { consumer: known, subject };
      const groups = [...known.groups];
      for (const g of extraGroups) if (!groups.includes(g)) groups.push(g);
      return { consumer: { name: known.name, groups, metadata: known.metadata }, subject };
    }
    if (this.config.known_only) return undefined;
    if (prefix === '' && subject.includes(':')) return NAMESPACE_REFUSAL;
    const name = prefix + subject;
    if (!isHeaderSafe(name)) return undefined;
    return { consumer: { name, groups: extraGroups, metadata: {} }, subject };
  }
}
