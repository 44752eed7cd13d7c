/**
 * Required literals of a regex: a set of strings such that every match of the
 * regex contains at least one of them (folded). A value that contains none of
 * them cannot match, so the engine skips the regex without calling RE2 —
 * benign values rarely hold "<script" or "union" and friends.
 *
 * The analysis is conservative: any syntax it does not know, a class too
 * large, an optional or repeated part gives "no requirement" (undefined), and
 * the rule's regex then always runs. Letters are compared folded (A-Z and the
 * Latin-1 capitals to lower case) on both sides, so the case flags do not
 * matter. It works on the pattern as RE2 gets it (bytePattern: latin1 chars).
 */

/** ASCII and Latin-1 letters folded to lower case: the comparison the prefilter makes on both sides. */
export function foldChar(c: number): number {
  if (c < 65) return c;
  if (c <= 90) return c + 32;
  if (c < 0xc0) return c;
  if (c <= 0xde) return c === 0xd7 ? c : c + 32;
  if (c < 0x100) return c;
  // characters outside Latin-1 that RE2's (?i) folds onto one inside it (KELVIN SIGN ~ k, long s ~ s ...)
  return UNICODE_FOLD.get(c) ?? c;
}

/** The characters above Latin-1 that foldChar maps into it. */
export const FOLD_SOURCES: readonly number[] = [0x212a, 0x17f, 0x212b, 0x1e9e, 0x178, 0x39c, 0x3bc];

const UNICODE_FOLD = new Map([
  [0x212a, 0x6b], [0x17f, 0x73], [0x212b, 0xe5], [0x1e9e, 0xdf], [0x178, 0xff], [0x39c, 0xb5], [0x3bc, 0xb5],
]);

export function fold(s: string): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) if (foldChar(s.charCodeAt(i)) !== s.charCodeAt(i)) break;
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) out += String.fromCharCode(foldChar(s.charCodeAt(i)));
  return out;
}

/** What a regex node can match: its exact strings when few, and literals every match contains. */
interface Info {
  /** Every string the node matches, folded (undefined: too many to list). */
  readonly exact: readonly string[] | undefined;
  /** One of these is in every match (undefined: no requirement known). */
  readonly any: readonly string[] | undefined;
}

const MAX_EXACT = 64;
const MAX_LITERAL = 24;
const MAX_ANY = 1024;
const MAX_CLASS = 10;

class Unsupported extends Error {}

const EMPTY: Info = { exact: [''], any: undefined };
const UNKNOWN: Info = { exact: undefined, any: undefined };
/** Matches nothing (under a Squeeze: needs a character the value does not hold). */
const NEVER: Info = { exact: [], any: [] };

function never(info: Info): boolean {
  return info.exact !== undefined && info.exact.length === 0;
}

/**
 * The analysis under assumptions about the value: it holds none of `absent`, and `deletable` characters are taken out
 * of it before the literals are looked for. CRS's command-word regexes put an evasion pattern between every two
 * letters (`b["')[\\]*(?:...\$[...]*)?\\?u...`: quotes, brackets, backslashes and a $variable): on a value without
 * "$", once those characters are deleted, "busybox" must appear whole. A character class holding only deletable
 * characters matches nothing that is left (EMPTY); one mixing them with others is UNKNOWN; an atom that needs an
 * absent character cannot match (NEVER).
 */
export interface Squeeze {
  /** Characters the value does not hold (folded). */
  readonly absent: string;
  /** Characters deleted from the value before the scan (folded). */
  readonly deletable: string;
}

function required(info: Info): readonly string[] | undefined {
  if (info.exact) return info.exact.includes('') ? undefined : info.exact;
  return info.any;
}

/** How rarely a literal turns up in benign values: letters, digits and spaces are everywhere, "<" and "`" are not. */
function rarity(literal: string): number {
  let r = 0;
  for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 32) r += 1;
    else if (c === 46 || c === 47 || c === 45 || c === 95 || c === 44 || c === 61) r += 2;
    else r += 3;
  }
  return r;
}

const scores = new WeakMap<readonly string[], number>();

/** Higher is a better filter: the commonest literal as rare as can be, then fewer literals. */
function score(set: readonly string[] | undefined): number {
  if (!set || set.length === 0) return -1;
  let known = scores.get(set);
  if (known === undefined) {
    let min = Infinity;
    for (const s of set) min = Math.min(min, rarity(s));
    known = min * 10000 - Math.min(set.length, 9999);
    scores.set(set, known);
  }
  return known;
}

/** How good a filter a literal set is (higher is better): what the prefilter compares to choose the squeezed one. */
export function literalScore(set: readonly string[] | undefined): number {
  return score(set);
}

function best(...sets: (readonly string[] | undefined)[]): readonly string[] | undefined {
  let out: readonly string[] | undefined;
  for (const s of sets) if (score(s) > score(out)) out = s;
  return out;
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** Either branch: exact strings when few enough in all, and the union of their requirements when each has one. */
function alternate(branches: readonly Info[]): Info {
  let exact: Set<string> | undefined = new Set();
  let any: Set<string> | undefined = new Set();
  for (const b of branches) {
    if (exact && b.exact && exact.size + b.exact.length <= MAX_EXACT) for (const x of b.exact) exact.add(x);
    else exact = undefined;
    const r = required(b);
    if (any && r && any.size + r.length <= MAX_ANY) for (const x of r) any.add(x);
    else any = undefined;
  }
  const exactList = exact ? [...exact] : undefined;
  if (exactList && !exact!.has('')) return { exact: exactList, any: exactList };
  return { exact: exactList, any: exactList ? undefined : any ? [...any] : undefined };
}

function repeat(a: Info, min: number, max: number): Info {
  if (never(a)) return min === 0 ? EMPTY : NEVER;
  // repeating what matches only the empty string (a squeezed-away class) still matches only that
  if (a.exact && a.exact.every((x) => x === '')) return EMPTY;
  if (min === 0) {
    if (max === 1 && a.exact && a.exact.length < MAX_EXACT) return { exact: dedupe(['', ...a.exact]), any: undefined };
    return UNKNOWN;
  }
  if (min === 1 && max === 1) return a;
  let exact: string[] | undefined;
  if (min === max && a.exact && min <= 4) {
    exact = [''];
    for (let i = 0; i < min && exact; i++) {
      if (exact.length * a.exact.length > MAX_EXACT) exact = undefined;
      else exact = dedupe(exact.flatMap((x) => a.exact!.map((y) => x + y)));
      if (exact?.some((s) => s.length > MAX_LITERAL)) exact = undefined;
    }
  }
  return { exact, any: best(exact && !exact.includes('') ? exact : undefined, required(a)) };
}

function chars(list: Iterable<number>, squeeze: Squeeze | undefined): Info {
  const set = new Set<string>();
  for (const c of list) set.add(String.fromCharCode(foldChar(c)));
  if (squeeze) {
    for (const c of squeeze.absent) set.delete(c);
    if (set.size === 0) return NEVER;
    let deletable = 0;
    for (const c of set) if (squeeze.deletable.includes(c)) deletable++;
    if (deletable === set.size) return EMPTY;
    if (deletable > 0) return UNKNOWN;
  }
  if (set.size > MAX_CLASS) return UNKNOWN;
  const exact = [...set];
  return { exact, any: exact };
}

class Parser {
  private i = 0;
  constructor(
    private readonly p: string,
    private readonly squeeze: Squeeze | undefined,
  ) {}

  parse(): Info {
    const info = this.alternation();
    if (this.i !== this.p.length) throw new Unsupported('trailing');
    return info;
  }

  private alternation(): Info {
    const branches = [this.sequence()];
    while (this.p[this.i] === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : alternate(branches);
  }

  /**
   * A concatenation: runs of atoms with exact strings multiply out ("<s" "cript" → "<script"); an atom
   * without them ends the run. Every run and every atom's own requirement is a valid one: the best is kept.
   */
  private sequence(): Info {
    let run: string[] = [''];
    let whole = true;
    let any: readonly string[] | undefined;
    const flush = (): void => {
      if (!run.includes('')) any = best(any, run);
    };
    let none = false;
    while (this.i < this.p.length && this.p[this.i] !== '|' && this.p[this.i] !== ')') {
      const atom = this.quantified();
      if (never(atom)) none = true;
      if (none) continue;
      if (atom.exact) {
        if (run.length * atom.exact.length <= MAX_EXACT) {
          const product: string[] = [];
          for (const x of run) for (const y of atom.exact) product.push(x + y);
          if (!product.some((s) => s.length > MAX_LITERAL)) {
            run = dedupe(product);
            continue;
          }
        }
        flush();
        whole = false;
        run = [...atom.exact];
        continue;
      }
      flush();
      whole = false;
      any = best(any, required(atom));
      run = [''];
    }
    if (none) return NEVER;
    flush();
    return whole ? { exact: run, any: run.includes('') ? undefined : run } : { exact: undefined, any };
  }

  private quantified(): Info {
    let atom = this.atom();
    for (;;) {
      const c = this.p[this.i];
      let min: number, max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.p.slice(this.i));
        if (!m) return atom; // a literal "{" as RE2 reads it is handled by atom(); here it is not a repeat
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        this.i += m[0].length - 1;
      } else return atom;
      this.i++;
      if (this.p[this.i] === '?') this.i++; // lazy: same strings
      atom = repeat(atom, min, max);
    }
  }

  private atom(): Info {
    const p = this.p;
    const c = p[this.i]!;
    if (c === '(') return this.group();
    if (c === '[') return this.klass();
    if (c === '.') {
      this.i++;
      return UNKNOWN;
    }
    if (c === '^' || c === '$') {
      this.i++;
      return EMPTY;
    }
    if (c === '\\') return this.escape();
    if (c === '*' || c === '+' || c === '?') throw new Unsupported('quantifier without operand');
    if (c === '{' && /^\{\d+(,\d*)?\}/.test(p.slice(this.i))) throw new Unsupported('repeat without operand');
    this.i++;
    return chars([c.charCodeAt(0)], this.squeeze);
  }

  private group(): Info {
    const p = this.p;
    this.i++; // (
    if (p[this.i] === '?') {
      this.i++;
      if (p[this.i] === 'P' || p[this.i] === '<') {
        const m = /^P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(p.slice(this.i));
        if (!m) throw new Unsupported('group');
        this.i += m[0].length;
      } else {
        const m = /^([imsU]*)(-[imsU]*)?([:)])/.exec(p.slice(this.i));
        if (!m) throw new Unsupported('group flags');
        this.i += m[0].length;
        if (m[3] === ')') return EMPTY; // (?i): flags only; the fold makes them irrelevant
      }
    }
    const info = this.alternation();
    if (p[this.i] !== ')') throw new Unsupported('unclosed group');
    this.i++;
    return info;
  }

  /** \x.., \n, \., \b ... outside a class. */
  private escape(): Info {
    const p = this.p;
    const d = p[this.i + 1];
    if (d === undefined) throw new Unsupported('trailing backslash');
    this.i += 2;
    if ('bBAz'.includes(d)) return EMPTY;
    if ('dDwWsSpPC'.includes(d)) {
      if (d === 'p' || d === 'P') throw new Unsupported('unicode class');
      // a class escape may match an absent or a deletable character: unknown, never EMPTY
      return UNKNOWN;
    }
    const code = this.escapedChar(d);
    return chars([code], this.squeeze);
  }

  /** The character an escape stands for (the escape letter already consumed). */
  private escapedChar(d: string): number {
    const p = this.p;
    switch (d) {
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 't':
        return 9;
      case 'f':
        return 12;
      case 'v':
        return 11;
      case 'a':
        return 7;
      case 'x': {
        if (p[this.i] === '{') {
          const end = p.indexOf('}', this.i);
          if (end === -1) throw new Unsupported('\\x{');
          const v = parseInt(p.slice(this.i + 1, end), 16);
          if (!Number.isFinite(v)) throw new Unsupported('\\x{');
          this.i = end + 1;
          return v;
        }
        const h = p.slice(this.i, this.i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Unsupported('\\x');
        this.i += 2;
        return parseInt(h, 16);
      }
      default:
        if (/[0-9A-Za-z]/.test(d)) throw new Unsupported(`escape \\${d}`);
        return d.charCodeAt(0);
    }
  }

  private klass(): Info {
    const p = this.p;
    this.i++; // [
    const negated = p[this.i] === '^';
    if (negated) this.i++;
    const codes: number[] = [];
    let first = true;
    let big = false;
    while (this.i < p.length && (p[this.i] !== ']' || first)) {
      first = false;
      if (p.startsWith('[:', this.i)) {
        const end = p.indexOf(':]', this.i);
        if (end === -1) throw new Unsupported('class');
        this.i = end + 2;
        big = true;
        continue;
      }
      const lo = this.classChar();
      if (lo === undefined) {
        big = true;
        continue;
      }
      if (p[this.i] === '-' && p[this.i + 1] !== ']' && this.i + 1 < p.length) {
        this.i++;
        const hi = this.classChar();
        if (hi === undefined || hi < lo) throw new Unsupported('range');
        if (hi - lo > 64) big = true;
        else for (let c = lo; c <= hi; c++) codes.push(c);
      } else codes.push(lo);
    }
    if (p[this.i] !== ']') throw new Unsupported('unclosed class');
    this.i++;
    return big || negated ? UNKNOWN : chars(codes, this.squeeze);
  }

  /** One class member; undefined for a class escape (\d, \s ...). */
  private classChar(): number | undefined {
    const p = this.p;
    const c = p[this.i]!;
    if (c !== '\\') {
      this.i++;
      return c.charCodeAt(0);
    }
    const d = p[this.i + 1];
    if (d === undefined) throw new Unsupported('trailing backslash');
    this.i += 2;
    if ('dDwWsS'.includes(d)) return undefined;
    if (d === 'p' || d === 'P' || d === 'b' || d === 'B') throw new Unsupported('class escape');
    return this.escapedChar(d);
  }
}

/**
 * The folded literals one of which every match of `pattern` (as handed to RE2,
 * without the "(?s)" prefix) contains, or undefined when none can be named.
 * With `squeeze`: one of which every match contains once the deletable
 * characters are taken out of it, for values that hold no absent character.
 */
export function requiredLiterals(pattern: string, squeeze?: Squeeze): readonly string[] | undefined {
  try {
    const info = new Parser(pattern, squeeze).parse();
    const set = required(info);
    if (!set || set.length === 0 || set.length > MAX_ANY || set.includes('')) return undefined;
    return set;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
