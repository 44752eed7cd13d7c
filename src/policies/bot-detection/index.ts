/**
 * bot-detection: refuses clients by User-Agent. The built-in list holds the
 * tools attackers and scanners announce themselves with (matched in one
 * pass, case-insensitively); operators add their own RE2 patterns and allow
 * patterns that win over every deny.
 */
import RE2 from 're2';
import { ConfigError } from '../../config/errors.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { Matcher } from '../../lib/matcher.js';
import { BotDetectionSchema } from './schema.js';

/**
 * Attack tools and vulnerability scanners that name themselves in the
 * User-Agent by default. Search engines, monitoring and ordinary HTTP
 * libraries (curl, python-requests, Go-http-client) are not here: they are
 * clients, not attacks.
 */
export const BUILTIN_BOTS: readonly string[] = [
  'sqlmap',
  'nikto',
  'nuclei',
  'nmap scripting engine',
  'nmap nse',
  'masscan',
  'zgrab',
  'zmeu',
  'dirbuster',
  'gobuster',
  'dirb/',
  'wfuzz',
  'fuzz faster u fool',
  'feroxbuster',
  'wpscan',
  'joomscan',
  'droopescan',
  'acunetix',
  'netsparker',
  'nessus',
  'openvas',
  'w3af',
  'arachni',
  'skipfish',
  'commix',
  'havij',
  'jorgee',
  'owasp zap',
  'zaproxy',
  'whatweb',
  'xsstrike',
  'dalfox',
  'hydra',
  'morfeus',
  'webinspect',
  'appscan',
  'burpcollaborator',
  'paros',
  'grabber',
  'vega/',
  'teh forest lobster',
  'brutus/aet',
  'ghauri',
];

const builtin = new Matcher(BUILTIN_BOTS);

/** One RE2 for a list of patterns, with the failing entry named when one does not compile. */
function combined(patterns: readonly string[], key: string): RE2 | undefined {
  if (patterns.length === 0) return undefined;
  patterns.forEach((pattern, i) => {
    try {
      new RE2(pattern, 'i');
    } catch (err) {
      throw new ConfigError(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`, [key, i]);
    }
  });
  return new RE2(patterns.map((p) => `(?:${p})`).join('|'), 'i');
}

export default definePolicy({
  name: 'bot-detection',
  phase: 'screen',
  description: 'Refuses attack tools and scanners by User-Agent, with operator allow and deny patterns.',
  config: BotDetectionSchema,
  compile(config) {
    const allow = combined(config.allow, 'allow');
    const denied = combined(config.deny, 'deny');
    const useBuiltin = config.builtin;
    const status = config.status;
    const refuse = (type: 'bot.empty_user_agent' | 'bot.scanner' | 'bot.denied', message: string, agent: string, bot?: string) =>
      deny('client_forbidden', { status, event: { type, severity: 'medium', message, data: { user_agent: agent.slice(0, 256), bot } } });
    return {
      onRequest(ctx) {
        const agent = ctx.header('user-agent')?.trim() ?? '';
        if (agent === '') return config.block_empty ? refuse('bot.empty_user_agent', 'the request has no User-Agent', '') : undefined;
        if (allow?.test(agent)) return undefined;
        if (useBuiltin) {
          const found = builtin.first(agent);
          if (found !== -1) return refuse('bot.scanner', `the User-Agent names ${BUILTIN_BOTS[found]!}`, agent, BUILTIN_BOTS[found]);
        }
        if (denied?.test(agent)) return refuse('bot.denied', 'the User-Agent matches a deny pattern', agent);
        return undefined;
      },
    };
  },
});
