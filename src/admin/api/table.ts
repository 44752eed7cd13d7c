/**
 * The admin API's routes, one table: every route names the resource and verb
 * a role must grant, and the OpenAPI document (openapi.ts) is made from this
 * table, so what is served and what is described cannot drift apart. A part
 * that adds endpoints adds its own file's list here (defense.ts: automatic
 * defense's actions).
 */
import { configRoutes } from './config-routes.js';
import { credentialRoutes } from './credentials.js';
import { defenseRoutes } from './defense.js';
import { eventRoutes } from './events.js';
import { fleetRoutes } from './fleet.js';
import { policyRoutes } from './policies.js';
import { resourceRoutes } from './resources.js';
import { stateRoutes } from './state.js';
import type { ApiRoute } from './types.js';

export const API_ROUTES: readonly ApiRoute[] = [...resourceRoutes, ...credentialRoutes, ...policyRoutes, ...configRoutes, ...stateRoutes, ...fleetRoutes, ...eventRoutes, ...defenseRoutes];
