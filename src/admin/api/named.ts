/**
 * The top-level lists of named things as REST collections: services, routes
 * and consumers. Each item's ETag is an HMAC of its text, so two operators
 * editing different items do not conflict; creating one needs the
 * collection's ETag (the config's), as it changes the list.
 */
import type { AdminResource } from '../../config/admin.js';
import { BadRequest, editList, etagOf, indexByName, isObject, listOf, masked, readData, restoreSecrets, type JsonObject } from './document.js';
import type { ApiCore, ApiRoute, JsonSchema, Reply } from './types.js';

export interface NamedOptions {
  /** The config section and URL segment. */
  readonly section: 'services' | 'routes' | 'consumers';
  readonly resource: AdminResource;
  readonly singular: string;
  /** What an answer shows of an item (secrets masked at least). */
  present(item: JsonObject, api: ApiCore): JsonObject;
  /** The item to store from a body; `before` is the item replaced (PUT). A string refuses with a 400 of that message. */
  accept?(body: JsonObject, before: JsonObject | undefined): JsonObject | string;
  readonly schema: JsonSchema;
}

export function itemEtag(api: ApiCore, item: JsonObject): string {
  return etagOf(api.key, item);
}

/** A body's "[secret]" stand-ins filled from the item it replaces; refused when one has nothing to fill it. */
export function withSecrets(body: JsonObject, before: JsonObject | undefined, where: string): JsonObject {
  const unfilled: string[] = [];
  const out = restoreSecrets(body, before, where, unfilled) as JsonObject;
  if (unfilled.length > 0) throw new BadRequest(`${unfilled[0]}: "[secret]" stands for a secret this item does not have: give the value or a \${env:...} reference`);
  return out;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function objectBody(call: Parameters<ApiRoute['handle']>[0]): Promise<JsonObject> {
  const body = await call.json();
  if (!isObject(body)) throw new BadRequest('(body): an object');
  return body;
}

export function namedRoutes(o: NamedOptions): ApiRoute[] {
  const base = `/api/v1/${o.section}`;
  const item = `${base}/{name}`;
  const listSchema = { type: 'object', properties: { items: { type: 'array', items: o.schema } }, required: ['items'] };
  const show = (api: ApiCore, it: JsonObject): Reply => ({ status: 200, body: o.present(it, api), etag: itemEtag(api, it) });
  return [
    {
      method: 'GET',
      path: base,
      resource: o.resource,
      verb: 'read',
      tag: o.section,
      summary: `List the ${o.section} (ETag: the config's, for creating)`,
      ok: { status: 200, schema: listSchema },
      handle(_call, api) {
        const data = dataOfRunning(api);
        return { status: 200, body: { items: listOf(data, o.section).map((it) => o.present(it, api)) }, etag: api.configEtag() };
      },
    },
    {
      method: 'POST',
      path: base,
      resource: o.resource,
      verb: 'write',
      tag: o.section,
      summary: `Create a ${o.singular} (If-Match: the collection's ETag)`,
      body: o.schema,
      ifMatch: true,
      ok: { status: 201, schema: o.schema },
      async handle(call, api) {
        const body = await objectBody(call);
        const name = body.name;
        if (typeof name !== 'string' || !NAME.test(name)) throw new BadRequest('name: letters, digits, ".", "_", "-" (at most 64)');
        return api.change(call, {
          target: () => api.configEtag(),
          edit(data) {
            if (indexByName(data, o.section, name) !== -1) return { status: 409, body: { error: 'exists', message: `${o.section}: "${name}" exists` } };
            const accepted = o.accept ? o.accept(body, undefined) : withSecrets(body, undefined, o.section);
            if (typeof accepted === 'string') return { status: 400, body: { error: 'bad_request', message: accepted, errors: [accepted] } };
            editList(data, o.section, undefined, accepted);
            return undefined;
          },
          done(data) {
            const created = listOf(data, o.section).find((it) => it.name === name)!;
            return { ...show(api, created), status: 201, headers: { location: `${base}/${encodeURIComponent(name)}` } };
          },
        });
      },
    },
    {
      method: 'GET',
      path: item,
      resource: o.resource,
      verb: 'read',
      tag: o.section,
      summary: `Read a ${o.singular}`,
      ok: { status: 200, schema: o.schema },
      handle(call, api) {
        const found = listOf(dataOfRunning(api), o.section).find((it) => it.name === call.params.name);
        return found ? show(api, found) : { status: 404, body: { error: 'not_found' } };
      },
    },
    {
      method: 'PUT',
      path: item,
      resource: o.resource,
      verb: 'write',
      tag: o.section,
      summary: `Replace a ${o.singular} (If-Match: its ETag; "[secret]" keeps a secret as it is)`,
      body: o.schema,
      ifMatch: true,
      ok: { status: 200, schema: o.schema },
      async handle(call, api) {
        const body = await objectBody(call);
        const name = call.params.name!;
        if (body.name !== undefined && body.name !== name) throw new BadRequest('name: is the one in the path (renaming is a create and a delete)');
        let index = -1;
        return api.change(call, {
          target(data) {
            index = indexByName(data, o.section, name);
            return index === -1 ? undefined : itemEtag(api, listOf(data, o.section)[index]!);
          },
          edit(data) {
            const before = (data[o.section] as JsonObject[])[index]!;
            const accepted = o.accept ? o.accept({ ...body, name }, before) : withSecrets({ ...body, name }, before, `${o.section}[${index}]`);
            if (typeof accepted === 'string') return { status: 400, body: { error: 'bad_request', message: accepted, errors: [accepted] } };
            editList(data, o.section, index, accepted);
            return undefined;
          },
          done: (data) => show(api, listOf(data, o.section).find((it) => it.name === name)!),
        });
      },
    },
    {
      method: 'DELETE',
      path: item,
      resource: o.resource,
      verb: 'write',
      tag: o.section,
      summary: `Delete a ${o.singular} (If-Match: its ETag)`,
      ifMatch: true,
      ok: { status: 204 },
      async handle(call, api) {
        const name = call.params.name!;
        let index = -1;
        return api.change(call, {
          target(data) {
            index = indexByName(data, o.section, name);
            return index === -1 ? undefined : itemEtag(api, listOf(data, o.section)[index]!);
          },
          edit(data) {
            editList(data, o.section, index, undefined);
            return undefined;
          },
          done: () => ({ status: 204 }),
        });
      },
    },
  ];
}


export function dataOfRunning(api: ApiCore): JsonObject {
  return readData(api.link.source().text);
}

export function maskedItem(api: ApiCore, section: string, item: JsonObject): JsonObject {
  const view = masked({ [section]: [item] }, api.link.policies);
  return (view[section] as JsonObject[])[0]!;
}
