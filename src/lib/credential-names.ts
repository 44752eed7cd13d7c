/**
 * Whether a field or target name says its value is a credential: it contains a word like password,
 * token, secret, session, or it ends in `key`, `pw`, `pin` or `pincode` as a word of its own (after
 * the start or a separator; pw and pin may carry digits: `pw2`, `pin_code1`).
 *
 * One regex used to say all of it, with the endings as `(?:^|[._-])pin(?:[._-]?code)?\d*$` branches.
 * recheck finds a polynomial backtracking attack on such end-anchored branches of an unanchored
 * search, so the endings are checked by hand, in one pass from the end.
 */
const CREDENTIAL_WORD = /pass|pwd|secret|token|api.?key|auth|session|sessid|csrf|xsrf|credential|cvv|cvc|ssn|iban|otp|privkey/i;
const CARD_WORD = /card/i;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** `separators` are the characters that start a word inside a name (`._-`, and `:` for waf targets). */
function endsInCredentialWord(name: string, separators: string): boolean {
  const lower = name.toLowerCase();
  let end = lower.length;
  while (end > 0 && isDigit(lower.charCodeAt(end - 1))) end--;
  const hasDigits = end < lower.length;
  const wordStartsAt = (at: number) => at === 0 || (at > 0 && separators.includes(lower[at - 1]!));
  const endsWithWord = (word: string, before: number) => lower.endsWith(word, before) && wordStartsAt(before - word.length);
  if (!hasDigits && endsWithWord('key', end)) return true;
  if (endsWithWord('pw', end) || endsWithWord('pin', end)) return true;
  if (!lower.endsWith('code', end)) return false;
  let pinEnd = end - 4;
  if (pinEnd > 0 && '._-'.includes(lower[pinEnd - 1]!)) pinEnd--;
  return endsWithWord('pin', pinEnd);
}

/** For values the waf quotes in events: card numbers' fields are credentials too. */
export function isCredentialFieldName(name: string): boolean {
  return CREDENTIAL_WORD.test(name) || CARD_WORD.test(name) || endsInCredentialWord(name, '._-');
}

/** For targets named `kind:name` (`header:x-api-key`, `body:user.password`): `:` also starts a word. */
export function isCredentialTargetName(target: string): boolean {
  return CREDENTIAL_WORD.test(target) || endsInCredentialWord(target, '.:_-');
}
