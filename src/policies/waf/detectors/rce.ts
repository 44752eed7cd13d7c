/**
 * OS command injection: a shell command where a shell would start one, after
 * a separator (; | || & && newline), inside `...` or $(...), with the
 * evasions a shell undoes itself removed first: quotes inside words (c'a't),
 * backslashes (w\ho\am\i), $IFS and ${IFS} as spaces, $@ and ${x} as
 * nothing, {cat,/etc/passwd} brace lists.
 *
 * Commands that are also English words (cat, id, sort, time) count only with
 * an argument that looks like a shell's: a path, a flag, a variable, a
 * number, a redirection.
 */
import { Matcher } from '../../../lib/matcher.js';
import { signalGroup } from '../signals.js';
import { RULES, type Rule } from '../rules.js';
import { isWordChar, needsShellNormalize, shellNormalize } from './shell-normalize.js';

/** How much evidence a command word needs after it. */
const enum Need {
  /** Not an English word: the name alone is enough. */
  Nothing,
  /** Meaningful with no argument (id, pwd, ls): enough at the end of the value or with a shell-like argument. */
  ProbeOrArg,
  /** An English word too: needs a shell-like argument. */
  Arg,
}

const UNIX: ReadonlyMap<string, Need> = new Map([
  ...words(Need.Nothing, 'wget curl nc ncat netcat socat bash sh zsh ksh csh tcsh busybox python python2 python3 perl ruby php lua nslookup traceroute tracepath telnet scp rsync tftp whoami uname ifconfig netstat ipconfig getent chmod chown chgrp crontab useradd usermod nohup setsid xterm xxd openssl gcc mkfifo mknod gawk xargs killall pkill printenv sudo systemctl lsof strace nmap masscan tcpdump iptables'),
  ...words(Need.ProbeOrArg, 'id ls pwd ps env hostname uptime df du lsb_release'),
  ...words(Need.Arg, 'cat echo printf find head tail more less sort uniq wc grep egrep fgrep sleep kill ping touch rm cp mv ln mkdir rmdir cd file stat tar zip unzip gzip gunzip time timeout date cut tr rev tac nl od strings diff cmp which whereis locate exec eval source export set type read test true false yes expr bc let wait history who last free arch base64 dig make tee dd awk sed ftp ssh su ss cc dash fish node passwd service'),
]);

const WINDOWS: ReadonlyMap<string, Need> = new Map([
  ...words(Need.Nothing, 'ipconfig systeminfo tasklist taskkill certutil bitsadmin wmic powershell pwsh netsh schtasks regsvr32 mshta rundll32 cscript wscript msiexec vssadmin icacls cacls findstr nltest whoami quser qwinsta'),
  ...words(Need.ProbeOrArg, 'ver dir set net'),
  ...words(Need.Arg, 'type copy del erase start call reg sc cmd ping nslookup'),
]);

function words(need: Need, list: string): Array<[string, Need]> {
  return list.split(' ').map((w) => [w, need]);
}

/** Commands that only a probe runs: enough after a weak separator (a lone "&", a newline) with nothing after them. */
const PROBES: ReadonlySet<string> = new Set(['whoami', 'uname', 'ifconfig', 'ipconfig', 'netstat', 'systeminfo', 'hostname', 'id', 'pwd', 'ver', 'tasklist', 'nslookup', 'wget', 'curl', 'nc', 'ncat']);

/** Calls that run a command from program code, followed by a string or variable argument. */
const CODE_CALLS: readonly string[] = [
  'system',
  'exec',
  'shell_exec',
  'passthru',
  'popen',
  'proc_open',
  'pcntl_exec',
  'os.system',
  'os.popen',
  'subprocess.call',
  'subprocess.run',
  'subprocess.popen',
  'subprocess.check_output',
  'commands.getoutput',
  'kernel.exec',
  'kernel.system',
  'io.popen',
  'open3.popen3',
  'runtime.exec',
  'getruntime().exec',
  'execsync',
  'spawnsync',
  'child_process.exec',
  'child_process.spawn',
  'create_function',
  'assert',
];

const EVASIONS = ['${ifs', '$ifs', '/dev/tcp/', '/dev/udp/'];
const POWERSHELL = ['invoke-expression', 'iex(', 'downloadstring(', 'downloadfile(', 'net.webclient', '-encodedcommand', 'frombase64string('];
const EVASION_SIGNAL = signalGroup(EVASIONS);
const POWERSHELL_SIGNAL = signalGroup(POWERSHELL);
const CODE_CALL_SIGNAL = signalGroup(CODE_CALLS);
const codeCalls = new Matcher(CODE_CALLS);

/** Prefixes that run the next word as a command. */
const RUNNERS: ReadonlySet<string> = new Set(['sudo', 'env', 'nohup', 'exec', 'command', 'builtin', 'time', 'nice', 'xargs', 'timeout']);

/** Where a shell starts a new command: after ; | & newline ` $( and at "(" subshells. */
function isSeparator(c: number): boolean {
  return c === 0x3b || c === 0x7c || c === 0x26 || c === 0x0a || c === 0x0d || c === 0x60;
}

interface CommandHit {
  need: Need;
  argument: 'none' | 'shell' | 'word';
  windows: boolean;
  probe: boolean;
}

/** What may follow a command word: the end, a space, a separator, a redirection, the end of a substitution. */
function endsWord(c: number): boolean {
  return Number.isNaN(c) || c <= 0x20 || isSeparator(c) || c === 0x29 || c === 0x3c || c === 0x3e || c === 0x23 || c === 0x60;
}

/** Blanks, "(" and "{" before a command word: "; (id)", "{ id; }". */
function isBeforeCommand(c: number): boolean {
  return c <= 0x20 || c === 0x28 || c === 0x7b;
}

/**
 * Reads the command word at each separator of one value, left to right. Every separator inside one run of blanks,
 * "(" and "{" (a newline is both) leads to the same word, so the run is skipped and the word read once per run,
 * not once per separator: "\n" repeated was quadratic (issue 10). Each word is read from at most four starts (the
 * runners and assignments commandAt() steps over), so the work stays linear in the value's length.
 */
class CommandReader {
  private runFrom = -1;
  private runTo = -1;
  private lastStart = -1;
  private lastHit: CommandHit | undefined = undefined;

  constructor(private readonly s: string) {}

  at(i: number): CommandHit | undefined {
    const s = this.s;
    if (i >= this.runFrom && i <= this.runTo) i = this.runTo;
    else {
      this.runFrom = i;
      while (i < s.length && isBeforeCommand(s.charCodeAt(i))) i++;
      this.runTo = i;
    }
    if (i === this.lastStart) return this.lastHit;
    this.lastStart = i;
    return (this.lastHit = commandAt(s, i));
  }
}

/** The length of "$0", "${0}", "$shell", "${shell}", "$bash" or "${bash}" at `i` (lower case), or 0. */
function shellItselfAt(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x24) return 0;
  for (const name of SHELL_ITSELF) if (s.startsWith(name, i)) return name.length;
  return 0;
}

const SHELL_ITSELF: readonly string[] = ['$0', '${0}', '$shell', '${shell}', '$bash', '${bash}'];

/** An option after a command word: " -c", " -i". */
function optionAfter(s: string, i: number): boolean {
  while (s.charCodeAt(i) === 0x20) i++;
  if (s.charCodeAt(i) !== 0x2d) return false;
  const c = s.charCodeAt(i + 1);
  return c >= 0x61 && c <= 0x7a;
}

/** Command directories a glob such as /???/ or /u*r/b?n/ stands for. */
const COMMAND_DIRS: readonly string[] = ['/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/', '/usr/local/bin/'];

/**
 * /???/c?t, /bin/c*t, /?s?/b??/id: a path with glob characters that the shell expands to a command it knows. Only
 * absolute paths, only short names (a command's name is short; the match is bounded), and only when some directory
 * commands live in and some command name both match.
 */
function globbedCommand(s: string, word: string, end: number): CommandHit | undefined {
  if (word.charCodeAt(0) !== 0x2f || word.length > 64 || !endsWord(s.charCodeAt(end))) return undefined;
  const slash = word.lastIndexOf('/');
  const dir = word.slice(0, slash + 1);
  const name = word.slice(slash + 1);
  if (name === '' || !COMMAND_DIRS.some((d) => globMatches(dir, d))) return undefined;
  let best: CommandHit | undefined;
  for (const [command, need] of UNIX) {
    if (!globMatches(name, command)) continue;
    if (!best || need < best.need) best = { need, argument: argumentAt(s, end), windows: false, probe: PROBES.has(command) };
  }
  // a name that is only wildcards ("/???/*") matches every command: it counts as one that needs an argument
  if (best && !/[a-z0-9]/.test(name)) best.need = Need.Arg;
  return best;
}

/** Shell glob match of `text` against `pattern` with "?" and "*" (iterative, no backtracking blow-up). */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && (c === 0x3f || c === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (p < pattern.length && c === 0x2a) {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (pattern.charCodeAt(p) === 0x2a) p++;
  return p === pattern.length;
}

/** Reads the command word at `i` (after spaces, runners, VAR=x assignments and a /bin/ path). */
function commandAt(s: string, i: number): CommandHit | undefined {
  for (let guard = 0; guard < 4; guard++) {
    while (i < s.length && isBeforeCommand(s.charCodeAt(i))) i++;
    const start = i;
    const shell = shellItselfAt(s, i);
    if (shell > 0) {
      // $0 -c id, ${SHELL} -c id: the shell run by its variable; only with an option, as "; $0 fee" is prose
      return endsWord(s.charCodeAt(i + shell)) && optionAfter(s, i + shell) ? { need: Need.Nothing, argument: 'shell', windows: false, probe: false } : undefined;
    }
    let glob = false;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3f || c === 0x2a) glob = true; // /???/c?t, /bin/c*t
      else if (!(isWordChar(c) || c === 0x2f || c === 0x3d)) break;
    }
    let word = s.slice(start, i);
    if (word === '') return undefined;
    if (word.includes('=') && !word.startsWith('=')) {
      if (glob) return undefined; // /x?a=b: a query string, not an assignment (a "?" ended the word before globs were read)
      continue; // FOO=bar cmd
    }
    const slash = word.lastIndexOf('/');
    if (slash !== -1) {
      // /bin/cat, /usr/bin/id, ./x: the command is the last part of an absolute or relative path
      if (!(word.startsWith('/') || word.startsWith('./') || word.startsWith('~/'))) return undefined;
      if (glob) return globbedCommand(s, word, i);
      word = word.slice(slash + 1);
    }
    if (glob) return undefined;
    if (word.endsWith('.exe')) word = word.slice(0, -4);
    if (RUNNERS.has(word) && guard < 3) {
      const next = s.charCodeAt(i);
      if (next <= 0x20 && i < s.length) continue;
    }
    const unix = UNIX.get(word);
    const win = WINDOWS.get(word);
    if (unix === undefined && win === undefined) return undefined;
    if (!endsWord(s.charCodeAt(i))) return undefined; // "du)", "id:" are not commands
    return { need: Math.min(unix ?? Need.Arg, win ?? Need.Arg), argument: argumentAt(s, i), windows: unix === undefined || (win !== undefined && driveArgument(s, i)), probe: PROBES.has(word) };
  }
  return undefined;
}

/** c:\ or c:/ at `i`. */
function isDrivePath(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0x61 && c <= 0x7a && s.charCodeAt(i + 1) === 0x3a && (s.charCodeAt(i + 2) === 0x5c || s.charCodeAt(i + 2) === 0x2f);
}

/**
 * A drive after the command word at `i` ("c:\\x", or "c:x" once the shell's backslash removal has run): a Windows
 * command whatever else the word names (type, set, ping).
 */
function driveArgument(s: string, i: number): boolean {
  while (s.charCodeAt(i) === 0x20) i++;
  const c = s.charCodeAt(i);
  return c >= 0x61 && c <= 0x7a && s.charCodeAt(i + 1) === 0x3a && s.charCodeAt(i + 2) > 0x20;
}

/** What follows a command word: nothing, a shell-like argument, or an ordinary word. */
function argumentAt(s: string, i: number): CommandHit['argument'] {
  while (i < s.length && s.charCodeAt(i) === 0x20) i++;
  if (i >= s.length) return 'none';
  const c = s.charCodeAt(i);
  if (isSeparator(c) || c === 0x29 /* ) */ || c === 0x7d || c === 0x23) return 'none';
  // -la, /etc/passwd, ./x, ~/x, $HOME, "quoted", 'quoted', >file, <file, 127.0.0.1, 5
  if (c === 0x2d || c === 0x2f || c === 0x2e || c === 0x7e || c === 0x24 || c === 0x22 || c === 0x27 || c === 0x3e || c === 0x3c || c === 0x5c || c === 0x25) return 'shell';
  if (c >= 0x30 && c <= 0x39) return 'shell';
  // c:\ and c:/ (dir c:\, type c:\boot.ini): a drive path
  if (isDrivePath(s, i)) return 'shell';
  // a word with a path or an extension in it: flag.txt, dir/file
  let j = i;
  while (j < s.length && s.charCodeAt(j) > 0x20 && !isSeparator(s.charCodeAt(j))) j++;
  const word = s.slice(i, j);
  if (word.includes('/') || /\.[a-z0-9]{1,4}$/.test(word)) return 'shell';
  return 'word';
}

function enough(hit: CommandHit, strict: boolean, weak: boolean): boolean {
  if (hit.argument === 'shell') return true;
  // after "&" or a newline, which ordinary text has, only a probe with nothing after it counts
  if (weak) return hit.probe && hit.argument === 'none';
  if (hit.need === Need.Nothing) return true;
  if (hit.need === Need.ProbeOrArg && hit.argument === 'none') return true;
  return strict && hit.argument === 'none';
}

/** system('id'), os.popen("ls"), Runtime.getRuntime().exec("..."), shell_exec($_GET[x]) */
function codeCall(lower: string): boolean {
  return codeCalls.scan(lower, (index, end) => {
    const name = CODE_CALLS[index]!;
    const at = end - name.length;
    const before = at > 0 ? lower.charCodeAt(at - 1) : -1;
    if (before !== -1 && isWordChar(before) && before !== 0x2e) return false;
    let j = end;
    while (j < lower.length && lower.charCodeAt(j) === 0x20) j++;
    const open = lower.charCodeAt(j);
    if (open !== 0x28 && !(name === 'system' && (open === 0x22 || open === 0x27))) return false;
    if (open === 0x28) j++;
    while (j < lower.length && lower.charCodeAt(j) === 0x20) j++;
    const arg = lower.charCodeAt(j);
    return arg === 0x22 || arg === 0x27 || arg === 0x24 || arg === 0x60;
  });
}

/**
 * Bash imports a function only from a variable whose value starts with "() {"
 * (Shellshock): "function f() {" in code is not one. Only the value's start is
 * read, without copying it.
 */
function startsAsShellFunction(lower: string): boolean {
  let i = 0;
  while (i < lower.length && /\s/.test(lower[i]!)) i++;
  if (lower.charCodeAt(i) !== 0x28 || lower.charCodeAt(i + 1) !== 0x29) return false;
  return /^\s*\{/.test(lower.slice(i + 2, i + 8));
}

/**
 * ${PATH:0:1}: bash's substring expansion, which builds characters a filter looks for ("/" from $PATH, $HOME) out
 * of variables. Offset and length both given, as digits: "${port:8080}" (a Spring default) is not one.
 */
function hasSubstringExpansion(lower: string): boolean {
  for (let at = lower.indexOf('${'); at !== -1; at = lower.indexOf('${', at + 2)) {
    let i = at + 2;
    const start = i;
    while (i < lower.length && i - start < 32 && isNameChar(lower.charCodeAt(i))) i++;
    if (i === start || lower.charCodeAt(i) !== 0x3a) continue;
    i = digitsAt(lower, i + 1);
    if (i === -1 || lower.charCodeAt(i) !== 0x3a) continue;
    i = digitsAt(lower, i + 1);
    if (i !== -1 && lower.charCodeAt(i) === 0x7d) return true;
  }
  return false;
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** The index after 0-6 digits (a space before them allowed: ${PATH: -1}), or -1 when more follow. */
function digitsAt(s: string, i: number): number {
  if (s.charCodeAt(i) === 0x20) i++;
  if (s.charCodeAt(i) === 0x2d) i++;
  const start = i;
  while (i < s.length && i - start <= 6 && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  return i - start > 6 ? -1 : i;
}

/** $'\x69\x64', $'\151\144', $'\u0069': ANSI-C quoting, a string only a shell decodes, spelling a command with escapes. */
function hasAnsiCEscapes(lower: string): boolean {
  for (let at = lower.indexOf("$'\\"); at !== -1; at = lower.indexOf("$'\\", at + 3)) {
    const c = lower.charCodeAt(at + 3);
    const d = lower.charCodeAt(at + 4);
    if (c === 0x78 /* x */ && isHexDigit(d)) return true;
    if (c === 0x75 /* u */ && isHexDigit(d)) return true;
    if (c >= 0x30 && c <= 0x37 && d >= 0x30 && d <= 0x37) return true; // octal
  }
  return false;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

export function detectRce(value: string, lower: string, paranoia: number, signals: number): Rule | undefined {
  // Evasions that mean a shell is the target whatever else the value holds
  if (signals & EVASION_SIGNAL) return RULES.rceEvasion;
  if (signals & POWERSHELL_SIGNAL) return RULES.rcePowershell;
  if (startsAsShellFunction(lower)) return RULES.rceShellshock;
  if (signals & CODE_CALL_SIGNAL && codeCall(lower)) return RULES.rceCodeCall;
  if (lower.includes('$') && (hasSubstringExpansion(lower) || hasAnsiCEscapes(lower))) return RULES.rceEvasion;
  const s = needsShellNormalize(value) ? shellNormalize(value) : lower;
  let loose: Rule | undefined;
  const commands = new CommandReader(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let substitution = false;
    let weak = false;
    if (c === 0x24 && s.charCodeAt(i + 1) === 0x28 && s.charCodeAt(i + 2) !== 0x28) substitution = true; // $( but not $((
    else if (c === 0x60) {
      // `id`: a backtick after a space in prose is markdown code ("like `chown -R`"), not a substitution
      const before = i > 0 ? s.charCodeAt(i - 1) : -1;
      if (before !== -1 && before <= 0x20) {
        if (paranoia >= 2 && commands.at(i + 1)) loose ??= RULES.rceCommandLoose;
        continue;
      }
      substitution = true;
    } else if ((c === 0x3c || c === 0x3e) && s.charCodeAt(i + 1) === 0x28) substitution = true; // <( >(
    else if (!isSeparator(c)) continue;
    else weak = (c === 0x26 && s.charCodeAt(i + 1) !== 0x26 && s.charCodeAt(i - 1) !== 0x26) || c === 0x0a || c === 0x0d;
    const at = substitution && c !== 0x60 ? i + 2 : i + 1;
    const hit = commands.at(at);
    if (!hit) continue;
    if (substitution && hit.need !== Need.Arg) return hit.windows ? RULES.rceWindows : RULES.rceCommand;
    if (enough(hit, substitution, weak)) return hit.windows ? RULES.rceWindows : RULES.rceCommand;
    if (paranoia >= 2) loose ??= RULES.rceCommandLoose;
  }
  if (paranoia >= 2 && !loose) {
    // a value that is a command line by itself: "cat /etc/passwd", "wget http://..."
    const hit = commandAt(s, 0);
    if (hit && (hit.argument === 'shell' || (hit.need === Need.Nothing && hit.argument !== 'word'))) loose = RULES.rceCommandLoose;
  }
  return loose;
}
