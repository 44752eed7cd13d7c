/**
 * A consumer's credentials: listed as method, id and fingerprint (never the
 * secret, nor a plain hash of it), added (the secret sent once, in the body;
 * an id made when none is given), revoked. The ETag is the consumer's: a
 * credential change is a change of its consumer.
 */
import { randomBytes } from 'node:crypto';
import { BadRequest, editList, fingerprintOf, indexByName, isObject, listOf, type JsonObject } from './document.js';
import { dataOfRunning, itemEtag } from './named.js';
import { credentialId, credentialsOf, CREDENTIAL_VIEW } from './resources.js';
import type { ApiRoute } from './types.js';

const METHOD = /^[a-z][a-z0-9-]{0,63}$/;

export const credentialRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/consumers/{name}/credentials',
    resource: 'credentials',
    verb: 'read',
    tag: 'consumers',
    summary: "List a consumer's credentials: ids and fingerprints, never secrets (ETag: the consumer's)",
    ok: { status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: CREDENTIAL_VIEW } }, required: ['items'] } },
    handle(call, api) {
      const consumer = listOf(dataOfRunning(api), 'consumers').find((c) => c.name === call.params.name);
      if (!consumer) return { status: 404, body: { error: 'not_found' } };
      return { status: 200, body: { items: credentialsOf(api, consumer) }, etag: itemEtag(api, consumer) };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/consumers/{name}/credentials',
    resource: 'credentials',
    verb: 'write',
    tag: 'consumers',
    summary: "Add a credential (If-Match: the consumer's ETag); the answer has its id and fingerprint only",
    body: {
      type: 'object',
      properties: { method: { type: 'string', description: 'the authentication policy: key-auth, basic-auth, hmac-auth, mtls-auth ...' }, credential: { type: 'object', description: "as in the file, the policy's credential shape" } },
      required: ['method', 'credential'],
    },
    ifMatch: true,
    ok: { status: 201, schema: CREDENTIAL_VIEW },
    async handle(call, api) {
      const body = await call.json();
      if (!isObject(body) || typeof body.method !== 'string' || !METHOD.test(body.method)) throw new BadRequest('method: the name of an authentication policy');
      if (!isObject(body.credential)) throw new BadRequest('credential: an object');
      const method = body.method;
      const credential: JsonObject = { ...body.credential };
      if (credential.id === undefined) credential.id = `cred-${randomBytes(6).toString('hex')}`;
      const id = credential.id;
      if (typeof id !== 'string') throw new BadRequest('credential.id: a string');
      const name = call.params.name!;
      let index = -1;
      return api.change(call, {
        target(data) {
          index = indexByName(data, 'consumers', name);
          return index === -1 ? undefined : itemEtag(api, listOf(data, 'consumers')[index]!);
        },
        edit(data) {
          const consumer = listOf(data, 'consumers')[index]!;
          if (credentialsOf(api, consumer).some((c) => c.id === id)) return { status: 409, body: { error: 'exists', message: `credential "${id}" exists` } };
          const creds = isObject(consumer.credentials) ? { ...consumer.credentials } : {};
          const list = Array.isArray(creds[method]) ? [...(creds[method])] : [];
          list.push(credential);
          creds[method] = list;
          editList(data, 'consumers', index, { ...consumer, credentials: creds });
          return undefined;
        },
        done(data) {
          const consumer = listOf(data, 'consumers').find((c) => c.name === name)!;
          return {
            status: 201,
            body: { method, id, fingerprint: fingerprintOf(api.key, credential) },
            etag: itemEtag(api, consumer),
            headers: { location: `/api/v1/consumers/${encodeURIComponent(name)}/credentials/${encodeURIComponent(id)}` },
          };
        },
      });
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/consumers/{name}/credentials/{id}',
    resource: 'credentials',
    verb: 'write',
    tag: 'consumers',
    summary: "Revoke a credential (If-Match: the consumer's ETag): refused by the proxy as soon as the answer is sent",
    ifMatch: true,
    ok: { status: 204 },
    async handle(call, api) {
      const name = call.params.name!;
      const id = call.params.id!;
      let index = -1;
      return api.change(call, {
        target(data) {
          index = indexByName(data, 'consumers', name);
          if (index === -1) return undefined;
          const consumer = listOf(data, 'consumers')[index]!;
          return credentialsOf(api, consumer).some((c) => c.id === id) ? itemEtag(api, consumer) : undefined;
        },
        edit(data) {
          const consumer = listOf(data, 'consumers')[index]!;
          const creds: JsonObject = {};
          for (const [method, list] of Object.entries(isObject(consumer.credentials) ? consumer.credentials : {})) {
            const kept = Array.isArray(list) ? list.filter((c, i) => credentialId(method, c, i) !== id) : list;
            if (!Array.isArray(kept) || kept.length > 0) creds[method] = kept;
          }
          editList(data, 'consumers', index, { ...consumer, credentials: creds });
          return undefined;
        },
        done: () => ({ status: 204 }),
      });
    },
  },
];
