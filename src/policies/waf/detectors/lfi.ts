/**
 * Path traversal and local file inclusion: ../ sequences, sensitive files
 * named outright, PHP-style stream wrappers, and NUL bytes that cut off an
 * extension the application appends.
 */
import { Matcher } from '../../../lib/matcher.js';
import { signalGroup } from '../signals.js';
import { RULES, type Rule } from '../rules.js';

/**
 * Files an attacker reads to prove or widen access. Matched as a path suffix
 * (after "/" or "\" or at the start), case-insensitively, "\" read as "/".
 */
const OS_FILES: readonly string[] = [
  'etc/passwd',
  'etc/shadow',
  'etc/group',
  'etc/hosts',
  'etc/issue',
  'etc/sudoers',
  'etc/crontab',
  'etc/master.passwd',
  'etc/security/passwd',
  'etc/mysql/my.cnf',
  'etc/httpd/',
  'etc/apache2/',
  'etc/nginx/',
  'etc/ssh/',
  'proc/self/',
  'proc/version',
  'proc/cpuinfo',
  'proc/net/',
  'proc/1/',
  'var/log/auth.log',
  'var/log/syslog',
  'var/log/messages',
  'var/log/secure',
  'var/log/apache',
  'var/log/httpd',
  'var/log/nginx',
  'var/log/mail',
  'var/run/secrets',
  'logs/access',
  'logs/error',
  'log/access',
  'log/error',
  'access_log',
  'error_log',
  'root/.',
  '.ssh/',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  'authorized_keys',
  '.bash_history',
  '.bash_profile',
  '.bash_logout',
  '.bashrc',
  '.profile',
  '.cshrc',
  '.rhosts',
  '.shosts',
  '.netrc',
  '.forward',
  '.sh_history',
  '.ksh_history',
  '.mysql_history',
  '.psql_history',
  '.viminfo',
  '.pgpass',
  '.xauthority',
  '.htaccess',
  '.htpasswd',
  '.git/config',
  '.git/head',
  '.svn/entries',
  '.aws/credentials',
  '.docker/config.json',
  '.kube/config',
  '.npmrc',
  'web.config',
  'wp-config.php',
  'windows/win.ini',
  'win.ini',
  'boot.ini',
  'system.ini',
  'windows/system32/',
  'winnt/system32/',
  'system32/drivers/etc/hosts',
  'system32/config/sam',
  'inetpub/wwwroot',
  'autoexec.bat',
  'php.ini',
  'my.ini',
  'httpd.conf',
  'applicationhost.config',
];

/** Directories a parameter has no business naming at the start of a value: /etc/..., /proc/..., C:\Windows\... */
const SYSTEM_ROOTS: readonly string[] = [
  '/etc/',
  '/proc/',
  '/sys/',
  '/root/',
  '/boot/',
  '/dev/',
  '/bin/',
  '/sbin/',
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/local/etc/',
  '/var/adm/',
  '/var/spool/',
  '/var/mail/',
  '/var/lib/',
  '/private/etc/',
  '/opt/lampp/',
  '/opt/xampp/',
  '/usr/local/apache',
  '/usr/local/cpanel',
];

const WINDOWS_DIRS: readonly string[] = ['windows/', 'winnt/', 'system32/', 'inetpub/', 'program files', 'boot.ini', 'apache', 'xampp', 'appserv', 'wamp', 'users/administrator', 'documents and settings/administrator'];

function systemPath(s: string): boolean {
  let start = 0;
  while (start < s.length && (s.charCodeAt(start) <= 0x20 || s.charCodeAt(start) === 0x22 || s.charCodeAt(start) === 0x27)) start++;
  for (const root of SYSTEM_ROOTS) if (s.startsWith(root, start)) return true;
  // C:\Windows\..., c:/boot.ini, /C:/inetpub/...
  let i = s.charCodeAt(start) === 0x2f ? start + 1 : start;
  const drive = s.charCodeAt(i);
  if (drive >= 0x61 && drive <= 0x7a && s.charCodeAt(i + 1) === 0x3a) {
    i += 2;
    if (s.charCodeAt(i) === 0x2f) i++;
    for (const dir of WINDOWS_DIRS) if (s.startsWith(dir, i)) return true;
  }
  return false;
}

const WRAPPERS: readonly string[] = [
  'php://',
  'phar://',
  'zip://',
  'expect://',
  'data://',
  'glob://',
  'zlib://',
  'compress.zlib://',
  'compress.bzip2://',
  'rar://',
  'ogg://',
  'ssh2.shell://',
  'ssh2.exec://',
  'jar:file:',
];

const osFiles = new Matcher(OS_FILES);
const OS_FILE_SIGNAL = signalGroup(OS_FILES);
const WRAPPER_SIGNAL = signalGroup(WRAPPERS);

function isPathStart(s: string, at: number): boolean {
  if (at === 0) return true;
  const c = s.charCodeAt(at - 1);
  return c === 0x2f || c <= 0x20 || c === 0x3d || c === 0x22 || c === 0x27 || c === 0x3a || c === 0x7e;
}

/** "../", "..\\", "..;/" and a final "/..": how many traversal steps the value takes, and whether one opens a path. */
function traversals(s: string): { count: number; leading: boolean } {
  let count = 0;
  let leading = false;
  for (let at = s.indexOf('..'); at !== -1; at = s.indexOf('..', at + 2)) {
    let j = at + 2;
    while (s.charCodeAt(j) === 0x2e) j++; // "....//" collapses to "../" when a filter strips "../" once
    const after = j < s.length ? s.charCodeAt(j) : -1;
    const before = at > 0 ? s.charCodeAt(at - 1) : -1;
    const slashBefore = before === 0x2f;
    const slashAfter = after === 0x2f || (after === 0x3b && s.charCodeAt(j + 1) === 0x2f);
    const opens = before === -1 || before <= 0x20 || before === 0x3d || before === 0x3a || before === 0x22 || before === 0x27;
    if (slashAfter && (slashBefore || opens)) {
      count++;
      if (opens) leading = true;
    } else if (slashBefore && after === -1) {
      count++;
    }
    at = j - 2;
  }
  return { count, leading };
}

export function detectLfi(value: string, lower: string, paranoia: number, signals: number): Rule | undefined {
  if (value.includes('\u0000')) return RULES.lfiNullByte;
  const s = lower.includes('\\') ? lower.replaceAll('\\', '/') : lower;
  if (s.includes('..')) {
    const { count, leading } = traversals(s);
    if (count >= 2 || (count === 1 && leading)) return RULES.lfiTraversal;
    if (count === 1 && paranoia >= 2) return RULES.lfiTraversalOne;
  }
  if (s.charCodeAt(0) !== 0x2e && systemPath(s)) return RULES.lfiOsFile;
  const osFile = (signals & OS_FILE_SIGNAL) !== 0 && osFiles.scan(s, (index, end) => {
    const file = OS_FILES[index]!;
    const at = end - file.length;
    if (!isPathStart(s, at)) return false;
    // a directory entry needs something after it; a file name must end there or at a separator
    return file.endsWith('/') || end === s.length || !isNameChar(s.charCodeAt(end));
  });
  if (osFile) return RULES.lfiOsFile;
  if (signals & WRAPPER_SIGNAL) return RULES.lfiWrapper;
  return undefined;
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d;
}
