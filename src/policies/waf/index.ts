/**
 * waf: injection detection in the open core. Inspects the path, query,
 * chosen headers, cookies and JSON/form/multipart bodies after decoding them
 * the way an upstream would, runs the detectors (SQL injection by
 * tokenizing, XSS, path traversal, RFI, command injection, template and
 * JNDI injection, SSRF, prototype pollution), adds up an anomaly score, and
 * refuses the request once the score reaches the threshold.
 *
 * Requests without a body to inspect are scanned synchronously.
 */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { ConfigError } from '../../config/errors.js';
import { parseSize } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { cookieReadings } from '../../lib/query.js';
import { bodyPlan, visitPairs, visitPlanned, type BodyKind, type BodyLimits, type BodyPlan } from './body.js';
import { percentDecode } from './decode.js';
import { Exclusions } from './exclusions.js';
import { CATEGORIES, CATEGORY_NAMES, RULES, RULES_BY_ID, type Category } from './rules.js';
import { redactSample } from './sample.js';
import { WafEngine, type Scan } from './scan.js';
import { WafSchema } from './schema.js';
import { loadCrs, SecLangError } from './crs/index.js';
import { crsExclusions } from './crs-exclusions.js';
import { runCrs, type CrsStepOptions } from './crs-step.js';
import { crsResponseInspector, type CrsResponseOptions } from './crs-response.js';

export { WafEngine } from './scan.js';

function isPlainSegment(segment: string, slashes = false): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e || (slashes && c === 0x2f);
    if (!ok) return false;
  }
  return true;
}


function refusal(scan: Scan, status: number, paranoia: number, threshold: number): Deny {
  const top = scan.matches[0]!;
  const category = top.rule.category;
  return deny('request_blocked', { status,
    event: {
      type: `waf.${category}`,
      severity: category === 'protocol' ? 'medium' : 'high',
      reason: category,
      message: `${CATEGORY_NAMES[category]} in ${top.target} (${top.rule.id})`,
      data: {
        rule: top.rule.id,
        category,
        rule_paranoia: top.rule.paranoia,
        rules: scan.matches.map((m) => m.rule.id).join(','),
        score: scan.score,
        threshold,
        paranoia,
        target: top.target,
        sample: redactSample(top.value, top.target),
      },
    },
  });
}

export default definePolicy({
  name: 'waf',
  phase: 'screen',
  description: 'Blocks injection attacks (SQL, XSS, traversal, RFI, command, template/JNDI, SSRF, prototype pollution) by anomaly score: native detectors, the OWASP Core Rule Set, or both.',
  config: WafSchema,
  compile(config, deps) {
    const maxBuffered = parseSize(deps.settings.limits.max_buffered_body);
    const maxBody = parseSize(config.body.max_size);
    if (maxBody > maxBuffered) {
      throw new ConfigError(
        `body.max_size (${maxBody} bytes) is larger than gateway.limits.max_buffered_body (${maxBuffered} bytes); lower it or raise that limit`,
        ['body', 'max_size'],
      );
    }
    if (config.response.enabled && config.engine === 'native') throw new ConfigError('the response rules are CRS rules: engine crs or both', ['response', 'enabled']);
    const responseLimit = parseSize(config.response.body_limit);
    if (responseLimit > 1024 * 1024) throw new ConfigError(`body_limit (${responseLimit} bytes) is larger than 1MiB`, ['response', 'body_limit']);
    const crs = config.engine === 'native' ? undefined : compileCrs(config, deps.baseDir ?? process.cwd(), maxBody);
    const crsResponse: CrsResponseOptions | undefined = crs && config.response.enabled
      ? { bodyLimit: responseLimit, contentTypes: config.response.content_types.map((t) => t.toLowerCase()), threshold: config.response.threshold }
      : undefined;
    const native = config.engine !== 'crs';
    config.disable.forEach((id, i) => {
      if (/^\d+$/.test(id) && crs) return;
      if (!RULES_BY_ID.has(id) && !CATEGORIES.includes(id as Category)) {
        throw new ConfigError(`unknown rule or category ${JSON.stringify(id)} (categories: ${CATEGORIES.join(', ')})`, ['disable', i]);
      }
    });
    const threshold = config.threshold;
    const paranoia = config.paranoia;
    const nativeParanoia = Math.min(paranoia, 2) as 1 | 2;
    const nativeExclusions = config.exclusions.map((x) => ({ ...x, rules: x.rules?.filter((r) => !/^\d+(-\d+)?$/.test(r) && !r.includes('-') && !r.includes('/')) })).filter((x) => x.rules === undefined || x.rules.length > 0);
    const engine = new WafEngine({ paranoia: nativeParanoia, threshold, disabled: new Set(config.disable.filter((d) => !/^\d+$/.test(d))), exclusions: new Exclusions(nativeExclusions) });
    const headers = config.inspect.headers.map((h) => h.toLowerCase());
    const kinds = new Set<BodyKind>(config.body.content_types);
    const limits: BodyLimits = { maxDepth: config.body.max_depth, maxValues: config.body.max_values };
    const status = config.status;
    const unknownTypes = config.body.unknown_types;
    const inspect = config.inspect;

    // The query's visitor, made once: visitPairs runs synchronously, so the scan it reports to is set around the call.
    let queryScan: Scan | undefined;
    const queryVisitor = {
      key: (name: string, path: string) => queryScan!.key('query', name, path),
      value: (name: string, value: string) => queryScan!.value('query', name, value),
    };

    function scanHead(ctx: RequestContext, scan: Scan): boolean {
      if (inspect.path && !isPlainSegment(ctx.path, true)) {
        // segment by segment as sent: an encoded "%2f" inside one stays inside it, where a decoding upstream would see it
        for (const segment of ctx.path.split('/')) {
          if (segment !== '' && !isPlainSegment(segment) && scan.value('path', '', percentDecode(segment, false))) return true;
        }
      }
      if (inspect.query && ctx.query !== '') {
        queryScan = scan;
        let outcome;
        try {
          outcome = visitPairs(ctx.query, limits, queryVisitor);
        } finally {
          queryScan = undefined;
        }
        if (outcome === 'stopped') return true;
        if (outcome === 'too-complex' && scan.flag(RULES.protocolComplexity, 'query')) return true;
      }
      for (const name of headers) {
        const value = ctx.headers[name];
        if (typeof value === 'string') {
          if (scan.value('header', name, value)) return true;
        } else if (Array.isArray(value)) {
          for (const v of value) if (scan.value('header', name, v)) return true;
        }
      }
      if (inspect.cookies) {
        const cookie = ctx.headers.cookie;
        if (cookie && scanCookies(cookie, scan)) return true;
      }
      // Log4j logged any header it was handed, CGI exported any header to bash: JNDI and Shellshock are checked in all of them.
      for (const name in ctx.headers) {
        const value = ctx.headers[name];
        if (typeof value === 'string' && (value.includes('${') || value.startsWith('()')) && scan.headerProbe(name, value)) return true;
      }
      return false;
    }

    function scanBody(ctx: RequestContext, scan: Scan, plan: BodyPlan, body: Buffer): Deny | undefined {
      if (plan === 'refuse') {
        if (body.length > 0) scan.flag(RULES.protocolBodyType, 'body');
        return scan.blocked ? refusal(scan, status, paranoia, threshold) : undefined;
      }
      // body-parser inflates gzip, deflate and br bodies before parsing them; the waf would read the compressed bytes
      if (isEncoded(ctx.header('content-encoding')) && body.length > 0) {
        if (plan === 'sniff') return undefined; // nothing parses compressed text/* as JSON
        scan.flag(RULES.protocolBody, 'body');
        return scan.blocked ? refusal(scan, status, paranoia, threshold) : undefined;
      }
      const visitor = {
        key: (name: string, path: string) => scan.key('body', name, path),
        value: (name: string, value: string) => scan.value('body', name, value),
      };
      const outcome = visitPlanned(plan, body, ctx.header('content-type') ?? '', limits, visitor);
      if (outcome === 'malformed') scan.flag(RULES.protocolBody, 'body');
      else if (outcome === 'too-complex') scan.flag(RULES.protocolComplexity, 'body');
      return scan.blocked ? refusal(scan, status, paranoia, threshold) : undefined;
    }

    return {
      inspectResponse: crs && crsResponse ? (ctx) => crsResponseInspector(ctx, { ...crs, policy: 'waf' }, crsResponse) : undefined,
      onRequest(ctx) {
        if (!crs) return nativeRequest(ctx);
        const first = runCrs(ctx, { ...crs, policy: 'waf' });
        if (!native) return first;
        if (first instanceof Promise) return first.then((d) => d ?? nativeRequest(ctx));
        return first ?? nativeRequest(ctx);
      },
    };

    function nativeRequest(ctx: RequestContext): Deny | undefined | Promise<Deny | undefined> {
        const scan = engine.scan(ctx.path, ctx.host);
        if (scanHead(ctx, scan)) return refusal(scan, status, paranoia, threshold);
        if (!inspect.body || !ctx.hasBody) return undefined;
        const plan = bodyPlan(ctx.header('content-type'), kinds, unknownTypes);
        if (plan === undefined) return undefined;
        const declared = Number(ctx.headers['content-length'] ?? -1);
        if (declared > maxBody && config.body.oversize === 'skip') return undefined;
        return ctx.readBody(maxBody).then((body) => scanBody(ctx, scan, plan, body));
    }
  },
});

type WafConfig = Static<typeof WafSchema>;

/** The CRS rule set for this config (reused across reloads while its files and settings are unchanged). */
function compileCrs(config: WafConfig, baseDir: string, maxBody: number): Omit<CrsStepOptions, 'policy'> {
  const { before, after } = crsExclusions(config.exclusions);
  const disabled = config.disable.filter((d) => /^\d+$/.test(d));
  let ruleSet;
  try {
    ruleSet = loadCrs({
      paranoia: config.paranoia,
      threshold: config.threshold,
      monitor: false,
      allowedMethods: config.allowed_methods,
      allowedContentTypes: config.allowed_content_types,
      rulesDir: config.rules_dir === undefined ? undefined : resolve(baseDir, config.rules_dir),
      responses: config.response.enabled,
      unmappedUnicode: config.unmapped_unicode,
      outboundThreshold: config.response.enabled ? config.response.threshold : undefined,
      include: config.include.map((f) => resolve(baseDir, f)),
      before,
      after: [after, ...disabled.map((id) => `SecRuleRemoveById ${id}`)].join('\n'),
    });
  } catch (e) {
    if (e instanceof SecLangError) throw new ConfigError(e.message, config.rules_dir !== undefined ? ['rules_dir'] : ['include']);
    if (e instanceof Error && /rules_dir|ENOENT/.test(e.message)) throw new ConfigError(e.message, config.rules_dir !== undefined ? ['rules_dir'] : ['include']);
    throw e;
  }
  return {
    ruleSet,
    status: config.status,
    paranoia: config.paranoia,
    threshold: config.threshold,
    maxBody,
    maxArgs: config.body.max_values,
    maxDepth: config.body.max_depth,
    responses: config.response.enabled,
  };
}

function isEncoded(contentEncoding: string | undefined): boolean {
  return contentEncoding !== undefined && contentEncoding.trim() !== '' && contentEncoding.trim().toLowerCase() !== 'identity';
}

function scanCookies(header: string | string[], scan: Scan): boolean {
  // every reading a server might make: split at ";", unquoted, and Werkzeug's (quoted values spanning ";")
  for (const [name, value] of cookieReadings(header)) {
    if (scan.key('cookie', name, name) || scan.value('cookie', name, value)) return true;
  }
  return false;
}
