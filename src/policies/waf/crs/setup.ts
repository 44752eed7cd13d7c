/**
 * The SecLang the gateway writes ahead of the CRS rules from its own config:
 * the body processors ModSecurity's recommended config chooses, and the
 * crs-setup.conf settings (paranoia, threshold, allowed methods and content
 * types) that `waf:` holds.
 */
export interface SetupOptions {
  readonly paranoia: number;
  /** Paranoia level rules are run at (and logged) without counting toward blocking; at least `paranoia`. */
  readonly detectionParanoia?: number;
  readonly threshold: number;
  /** tx.outbound_anomaly_score_threshold (CRS's default 4 when left out). */
  readonly outboundThreshold?: number;
  readonly monitor: boolean;
  readonly allowedMethods?: readonly string[];
  readonly allowedContentTypes?: readonly string[];
  /** More SecLang appended to the setup (the regression runner's settings). */
  readonly extra?: string;
}

export const BASE = `
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)^(?:application(?:/soap\\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)^application/(?:[a-z0-9.+-]+\\+)?json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
`;

function quoteList(items: readonly string[]): string {
  return items.join(' ').replace(/'/g, '');
}

export function setupText(o: SetupOptions): string {
  const lines = [
    BASE,
    `SecRuleEngine ${o.monitor ? 'DetectionOnly' : 'On'}`,
    'SecDefaultAction "phase:1,log,auditlog,pass"',
    'SecDefaultAction "phase:2,log,auditlog,pass"',
    'SecDefaultAction "phase:3,log,auditlog,pass"',
    'SecDefaultAction "phase:4,log,auditlog,pass"',
    'SecDefaultAction "phase:5,log,auditlog,pass"',
  ];
  const setvars = [
    `setvar:tx.crs_setup_version=4280`,
    `setvar:tx.blocking_paranoia_level=${o.paranoia}`,
    `setvar:tx.detection_paranoia_level=${Math.max(o.paranoia, o.detectionParanoia ?? o.paranoia)}`,
    `setvar:tx.inbound_anomaly_score_threshold=${o.threshold}`,
  ];
  if (o.outboundThreshold !== undefined) setvars.push(`setvar:tx.outbound_anomaly_score_threshold=${o.outboundThreshold}`);
  if (o.allowedMethods) setvars.push(`setvar:'tx.allowed_methods=${quoteList(o.allowedMethods)}'`);
  if (o.allowedContentTypes) setvars.push(`setvar:'tx.allowed_request_content_type=|${o.allowedContentTypes.map((t) => t.toLowerCase().replace(/['|]/g, '')).join('| |')}|'`);
  lines.push(`SecAction "id:900990,phase:1,pass,t:none,nolog,tag:'OWASP_CRS',${setvars.join(',')}"`);
  if (o.extra) lines.push(o.extra);
  return lines.join('\n');
}
