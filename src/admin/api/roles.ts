/**
 * Who may do what: a role is a set of grants, verbs (read, write) over
 * resources. The three built-in roles, and the custom ones of
 * admin.api.roles. Every API route names its resource and verb (table.ts), so
 * the check is one lookup, made before the handler runs.
 */
import { ADMIN_RESOURCES, type AdminApiConfig, type AdminResource, type AdminVerb } from '../../config/admin.js';

export type Grants = ReadonlyMap<AdminResource, ReadonlySet<AdminVerb>>;

function grants(list: ReadonlyArray<{ resources: readonly (AdminResource | '*')[]; verbs: readonly AdminVerb[] }>): Grants {
  const out = new Map<AdminResource, Set<AdminVerb>>();
  for (const g of list) {
    const resources = g.resources.includes('*') ? ADMIN_RESOURCES : (g.resources as AdminResource[]);
    for (const r of resources) {
      let verbs = out.get(r);
      if (!verbs) out.set(r, (verbs = new Set()));
      for (const v of g.verbs) verbs.add(v);
    }
  }
  return out;
}

/**
 * viewer reads everything; operator also changes consumers, their
 * credentials and defense actions (the day-to-day: onboard, revoke, lift a
 * ban); admin changes everything, the whole config included.
 */
const BUILT_IN: Record<string, Grants> = {
  viewer: grants([{ resources: ['*'], verbs: ['read'] }]),
  operator: grants([
    { resources: ['*'], verbs: ['read'] },
    { resources: ['consumers', 'credentials', 'defense'], verbs: ['write'] },
  ]),
  admin: grants([{ resources: ['*'], verbs: ['read', 'write'] }]),
};

export function rolesOf(api: AdminApiConfig): Map<string, Grants> {
  const out = new Map<string, Grants>(Object.entries(BUILT_IN));
  for (const [name, list] of Object.entries(api.roles)) out.set(name, grants(list));
  return out;
}

export function allows(roles: ReadonlyMap<string, Grants>, role: string, resource: AdminResource, verb: AdminVerb): boolean {
  return roles.get(role)?.get(resource)?.has(verb) ?? false;
}

/** What a role may do, as the dashboard reads it to show or hide buttons. */
export function grantsJson(roles: ReadonlyMap<string, Grants>, role: string): Record<string, AdminVerb[]> {
  const out: Record<string, AdminVerb[]> = {};
  for (const [resource, verbs] of roles.get(role) ?? []) out[resource] = [...verbs];
  return out;
}
