/** Durations ("250ms", "5s", "1m", "1h", "1d") and sizes ("512KiB", "1MiB", "100") as users write them. */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const SIZE = /^(\d+)(B|KB|MB|GB|KiB|MiB|GiB)?$/;
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** The longest delay Node's timers take (setTimeout, setInterval, socket.setTimeout): 2^31-1 ms, about 24.8 days. Longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** A duration Node's timers can wait for: see MAX_TIMER_MS. */
export function isTimer(text: string): boolean {
  return DURATION.test(text) && parseDuration(text) <= MAX_TIMER_MS;
}

export function isSize(text: string | number): boolean {
  return typeof text === 'number' ? Number.isSafeInteger(text) && text >= 0 : SIZE.test(text);
}

/** Milliseconds in a duration. Call only on validated input. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`expected a duration like "1m", got ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * (DURATION_MS[m[2]!] ?? 1));
}

/** Bytes in a size. Call only on validated input. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = SIZE.exec(text);
  if (!m) throw new Error(`expected a size like "1MiB", got ${JSON.stringify(text)}`);
  return Number(m[1]) * (SIZE_BYTES[m[2] ?? 'B'] ?? 1);
}
