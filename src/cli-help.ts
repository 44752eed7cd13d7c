/**
 * The usage text: each command's own (printed by `portcullis COMMAND --help`)
 * and all of them together (`portcullis --help`). Kept apart from cli.ts so
 * the text is one place and --help loads no command's code.
 */
import { CA_HELP } from './ca/help.js';
import { AUDIT_HELP } from './cli-audit.js';
import { CONFIG_HELP } from './cli-config.js';
import { DEFENSE_HELP } from './cli-defense.js';
import { FLEET_HELP } from './cluster/fleet/help.js';

export const COMMAND_HELP: Record<string, string> = {
  start: `  portcullis start -c FILE [--watch] [--pid-file PATH] [--demo-upstream HOST:PORT]
      Run the gateway on FILE (YAML or JSON). SIGHUP reloads, SIGTERM drains and stops,
      SIGUSR1 reopens the files of file sinks (after logrotate moved them).
      One worker per core (gateway.workers; PORTCULLIS_WORKERS=N overrides it for a run).
      --watch            reload when FILE changes
      --pid-file PATH    where to write the process id (default: derived from FILE)
      --demo-upstream A  also start the quick start's demo upstream on A (e.g. 127.0.0.1:9001)
`,
  validate: `  portcullis validate FILE [--strict] [--offline]
      Check FILE; exit 0 when valid, 1 with every problem as file:line: path: message.
      Warnings (allowed but likely wrong) print as file:line: path: warning: message
      and keep exit 0; --strict makes them fail (exit 1).
      --offline  for CI: \${env:NAME} and \${file:PATH} references are checked and named,
                 not resolved, and files the config names need not exist.
`,
  reload: `  portcullis reload [-c FILE] [--pid-file PATH]
      Ask the gateway started on FILE to reload it, and print the outcome.
`,
  'hash-password': `  portcullis hash-password
      Read a password from standard input (one line) and print its hash for
      basic-auth credentials: $scrypt$ln=15,r=8,p=1$<salt>$<hash>
`,
  'openapi-routes': `  portcullis openapi-routes SPEC --service NAME [--auth POLICY|none]
      Print routes for every path of an OpenAPI 3.0/3.1 description (YAML, to put
      under routes:), each validated against SPEC; --auth adds that authentication
      policy to each (default key-auth), none makes them public.
`,
  schema: `  portcullis schema
      Print the JSON Schema of the config file (every policy's settings included), for
      editors: put "# yaml-language-server: $schema=PATH" on the first line of a config.
`,
};

export const HELP = `portcullis — a secure API gateway

Usage:
${Object.values(COMMAND_HELP).join('')}${CA_HELP}${AUDIT_HELP}${CONFIG_HELP}${DEFENSE_HELP}${FLEET_HELP}  portcullis --version | --help
`;

/** One command's usage, or undefined for a command that has none. */
export function commandHelp(command: string): string | undefined {
  const text = COMMAND_HELP[command];
  return text === undefined ? undefined : `Usage:\n${text}`;
}
