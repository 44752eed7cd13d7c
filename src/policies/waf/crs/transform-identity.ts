/**
 * When a transformation leaves a value as it is (up to letter case): a value
 * without "%" or "+" is its own urlDecode, one without "&" its own
 * htmlEntityDecode... The literal prefilter folds case, so for such values it
 * can scan the value once instead of once per transformation chain — most
 * benign values pass through CRS's chains unchanged.
 */

/** Which characters a value holds, as bits. */
const CharFlag = {
  Percent: 1,
  Plus: 2,
  Amp: 4,
  Backslash: 8,
  Nul: 16,
  High: 32,
  Space: 64,
  Quote: 128,
  Caret: 256,
  CommaSemi: 512,
  Slash: 1024,
  Star: 2048,
  Dash: 4096,
  Hash: 8192,
  /** The value is "." (normalizePath makes it ""). */
  DotOnly: 16384,
  /** Every value has it: the mask of a transformation that always changes values. */
  Any: 1 << 20,
} as const;

const BY_CHAR = new Uint32Array(128);
BY_CHAR[37] = CharFlag.Percent;
BY_CHAR[43] = CharFlag.Plus;
BY_CHAR[38] = CharFlag.Amp;
BY_CHAR[92] = CharFlag.Backslash;
BY_CHAR[0] = CharFlag.Nul;
for (const c of [32, 9, 10, 11, 12, 13]) BY_CHAR[c] = CharFlag.Space;
BY_CHAR[34] = BY_CHAR[39] = CharFlag.Quote;
BY_CHAR[94] = CharFlag.Caret;
BY_CHAR[44] = BY_CHAR[59] = CharFlag.CommaSemi;
BY_CHAR[47] = CharFlag.Slash;
BY_CHAR[42] = CharFlag.Star;
BY_CHAR[45] = CharFlag.Dash;
BY_CHAR[35] = CharFlag.Hash;

export function charFlags(s: string): number {
  let f: number = CharFlag.Any;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    f |= c < 128 ? BY_CHAR[c]! : CharFlag.High;
  }
  if (s === '.') f |= CharFlag.DotOnly;
  return f;
}

/** The characters whose presence may make the transformation change a value beyond letter case; Any when it always may. */
const BREAKERS: Readonly<Record<string, number>> = {
  lowercase: 0,
  uppercase: 0,
  parityeven7bit: 0,
  parityodd7bit: 0,
  parityzero7bit: CharFlag.High,
  urldecode: CharFlag.Percent | CharFlag.Plus,
  urldecodeuni: CharFlag.Percent | CharFlag.Plus,
  htmlentitydecode: CharFlag.Amp,
  jsdecode: CharFlag.Backslash,
  cssdecode: CharFlag.Backslash,
  escapeseqdecode: CharFlag.Backslash,
  removenulls: CharFlag.Nul,
  replacenulls: CharFlag.Nul,
  utf8tounicode: CharFlag.High,
  compresswhitespace: CharFlag.Space | CharFlag.High,
  removewhitespace: CharFlag.Space | CharFlag.High,
  trim: CharFlag.Space,
  trimleft: CharFlag.Space,
  trimright: CharFlag.Space,
  cmdline: CharFlag.Quote | CharFlag.Backslash | CharFlag.Caret | CharFlag.Space | CharFlag.CommaSemi,
  replacecomments: CharFlag.Star,
  removecomments: CharFlag.Star | CharFlag.Dash | CharFlag.Hash,
  removecommentschar: CharFlag.Star | CharFlag.Dash | CharFlag.Hash,
  normalizepath: CharFlag.Slash | CharFlag.DotOnly,
  normalisepath: CharFlag.Slash | CharFlag.DotOnly,
  normalizepathwin: CharFlag.Slash | CharFlag.Backslash | CharFlag.DotOnly,
  normalisepathwin: CharFlag.Slash | CharFlag.Backslash | CharFlag.DotOnly,
};

/** The mask of a whole chain: a value whose flags miss it comes out of the chain as it went in, up to case. */
export function chainBreakers(names: readonly string[]): number {
  let mask = 0;
  for (const n of names) mask |= BREAKERS[n] ?? CharFlag.Any;
  return mask;
}
