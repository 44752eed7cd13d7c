/** Quota periods in UTC: which one a moment falls in, its id (part of the store key) and its bounds. */
import { parseDuration } from '../../config/units.js';

export interface Period {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export type PeriodFunction = (now: number) => Period;

const DAY = 86_400_000;

export function compilePeriod(spec: string): { periodOf: PeriodFunction; typicalMs: number } {
  switch (spec) {
    case 'day':
      return {
        typicalMs: DAY,
        periodOf: (now) => {
          const start = Math.floor(now / DAY) * DAY;
          return { id: `d${start / DAY}`, start, end: start + DAY };
        },
      };
    case 'week':
      return {
        typicalMs: 7 * DAY,
        periodOf: (now) => {
          const day = Math.floor(now / DAY);
          // 1970-01-01 was a Thursday: shift so weeks start on Monday.
          const start = (day - ((day + 3) % 7)) * DAY;
          return { id: `w${start / DAY}`, start, end: start + 7 * DAY };
        },
      };
    case 'month':
      return {
        typicalMs: 30 * DAY,
        periodOf: (now) => {
          const d = new Date(now);
          const y = d.getUTCFullYear();
          const m = d.getUTCMonth();
          return { id: `m${y * 12 + m}`, start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
        },
      };
    default: {
      const ms = parseDuration(spec);
      return {
        typicalMs: ms,
        periodOf: (now) => {
          const index = Math.floor(now / ms);
          return { id: `p${index}`, start: index * ms, end: (index + 1) * ms };
        },
      };
    }
  }
}
