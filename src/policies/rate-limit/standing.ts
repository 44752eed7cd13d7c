/** What onResponse needs to write the headers: the state after the request was counted. */
export interface Standing {
  readonly allowed: boolean;
  readonly remaining: readonly number[];
  readonly resetMs: readonly number[];
  readonly retryAfterMs: number;
}
