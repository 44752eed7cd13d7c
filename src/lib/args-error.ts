/**
 * node:util parseArgs errors, said in one short line: its own messages are
 * long and, for an unknown option, suggest a '--' escape no user wants.
 */
import { didYouMean } from '../config/errors.js';

export function describeArgsError(err: unknown, options: Readonly<Record<string, unknown>>): string {
  const message = (err as Error).message.split('\n')[0] ?? '';
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    const hint = option.startsWith('--') ? didYouMean(option.slice(2), Object.keys(options)) : undefined;
    return `unknown option ${option}${hint ? `; did you mean --${hint}?` : ''} (see --help)`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const named = /Option '(?:-(\w), )?--([\w-]+)/.exec(message);
    if (named && message.includes('argument missing')) return `option ${named[1] ? `-${named[1]}/` : ''}--${named[2]} needs a value`;
    if (named) return `option --${named[2]} takes no value`;
  }
  return message;
}
