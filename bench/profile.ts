/**
 * Summarizes a .cpuprofile written by `npm run bench -- --profile` (or any
 * node --cpu-prof of the gateway): node --import tsx bench/profile.ts FILE [TOP]
 */
import { fileURLToPath } from 'node:url';
import { formatSummary, summarizeProfile } from './lib/profile-summary.js';

const [file, top, requests] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile.ts FILE.cpuprofile [TOP=30] [REQUESTS]\n');
  process.exitCode = 2;
} else {
  const summary = summarizeProfile(file, fileURLToPath(new URL('..', import.meta.url)), Number(top ?? 30));
  process.stdout.write(formatSummary(summary, requests ? Number(requests) : undefined) + '\n');
}
