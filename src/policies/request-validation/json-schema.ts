/**
 * JSON Schema validation with ajv, compiled once per config snapshot. Every
 * "pattern" in a schema runs on RE2: a schema author cannot write a regular
 * expression that hangs the gateway. Errors name the failing location as a
 * path ("body.items[0].qty: must be >= 1"), never the value.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import RE2 from 're2';

// ajv-formats is CommonJS with a default export
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export type Draft = '07' | '2020-12';

/** ajv calls this as regExp(pattern, flags); RE2 works with or without "new". */
const re2Engine = RE2 as unknown as NonNullable<NonNullable<Options['code']>['regExp']>;

export function createAjv(draft: Draft, coerce: boolean): Ajv {
  const options: Options = {
    allErrors: false,
    strict: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: false,
    validateFormats: true,
    code: { regExp: re2Engine },
  };
  const ajv: Ajv = draft === '2020-12' ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  return ajv;
}

export function draftOf(schema: Record<string, unknown>): Draft {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  return declared.includes('2020-12') || declared.includes('2019-09') ? '2020-12' : '07';
}

/** "/items/0/qty" → "items[0].qty" */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** The first error, as "where: what". */
export function describeErrors(location: string, errors: ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (!error) return `${location}: is not valid`;
  let path = pointerToPath(error.instancePath);
  let message = error.message ?? 'is not valid';
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    path = path ? `${path}.${String(params.missingProperty)}` : String(params.missingProperty);
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    path = path ? `${path}.${String(params.additionalProperty)}` : String(params.additionalProperty);
    message = 'is not allowed';
  }
  const where = path === '' ? location : path.startsWith('[') ? `${location}${path}` : `${location}.${path}`;
  return `${where}: ${message}`;
}

export type { ValidateFunction };
