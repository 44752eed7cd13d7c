/**
 * AWS credentials for a Lambda service: from the gateway's environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), from a
 * credentials file (INI, a profile), or from STS AssumeRole called with the
 * environment's keys (signed with SigV4 like the invocation) and cached until
 * five minutes before they expire. Secrets never reach a log or an error.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import aws4 from 'aws4';
import { request } from 'undici';
import type { LambdaConfig } from '../../config/functions.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export class CredentialsError extends Error {}

export interface CredentialSource {
  get(): Promise<AwsCredentials>;
}

export function fromEnvironment(env: NodeJS.ProcessEnv): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new CredentialsError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

/** One profile of an AWS credentials file (INI: [profile] then key = value lines). */
export function fromFile(file: string, profile: string): AwsCredentials {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CredentialsError(`cannot read the AWS credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let section: string | undefined;
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // Parsed by hand, not with regexes: a credentials file is read at every call.
    if (line.startsWith('[') && line.endsWith(']')) {
      const inner = line.slice(1, -1).trim();
      section = inner.startsWith('profile ') ? inner.slice('profile '.length).trim() : inner;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || section !== profile) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    if (/^[a-z0-9_]+$/.test(key)) values[key] = line.slice(eq + 1).trim();
  }
  const accessKeyId = values.aws_access_key_id;
  const secretAccessKey = values.aws_secret_access_key;
  if (!accessKeyId || !secretAccessKey) throw new CredentialsError(`profile "${profile}" of ${file} has no aws_access_key_id and aws_secret_access_key`);
  return { accessKeyId, secretAccessKey, sessionToken: values.aws_session_token || undefined };
}

/** The text of the first <name>…</name> element of an STS answer. */
function tag(xml: string, name: string): string | undefined {
  const start = xml.indexOf(`<${name}>`);
  if (start < 0) return undefined;
  const from = start + name.length + 2;
  const end = xml.indexOf(`</${name}>`, from);
  return end < 0 ? undefined : xml.slice(from, end);
}

/** STS AssumeRole, signed with the environment's keys; the role's keys are cached until 5 minutes before they expire. */
export class AssumedRole implements CredentialSource {
  private cached: { creds: AwsCredentials; until: number } | undefined;
  private pending: Promise<AwsCredentials> | undefined;

  constructor(
    private readonly roleArn: string,
    private readonly sessionName: string,
    private readonly region: string,
    private readonly endpoint: string,
    private readonly base: () => AwsCredentials,
    private readonly timeoutMs: number,
  ) {}

  get(): Promise<AwsCredentials> {
    if (this.cached && Date.now() < this.cached.until) return Promise.resolve(this.cached.creds);
    this.pending ??= this.assume().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async assume(): Promise<AwsCredentials> {
    const url = new URL(this.endpoint);
    const body = new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: this.roleArn, RoleSessionName: this.sessionName, DurationSeconds: '3600' }).toString();
    const signed = aws4.sign(
      {
        host: url.host,
        path: url.pathname === '' ? '/' : url.pathname,
        method: 'POST',
        service: 'sts',
        region: this.region,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      },
      this.base(),
    );
    const res = await request(new URL(signed.path ?? '/', url.origin), {
      method: 'POST',
      headers: signed.headers as Record<string, string>,
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const xml = (await res.body.text()).slice(0, 64 * 1024);
    if (res.statusCode !== 200) throw new CredentialsError(`STS AssumeRole answered ${res.statusCode}${tag(xml, 'Code') ? ` (${tag(xml, 'Code')})` : ''}`);
    const accessKeyId = tag(xml, 'AccessKeyId');
    const secretAccessKey = tag(xml, 'SecretAccessKey');
    const sessionToken = tag(xml, 'SessionToken');
    const expiration = Date.parse(tag(xml, 'Expiration') ?? '');
    if (!accessKeyId || !secretAccessKey || !sessionToken) throw new CredentialsError('STS AssumeRole answered without credentials');
    const creds = { accessKeyId, secretAccessKey, sessionToken };
    this.cached = { creds, until: (Number.isFinite(expiration) ? expiration : Date.now() + 3_600_000) - 5 * 60_000 };
    return creds;
  }
}

export function credentialSource(config: LambdaConfig, env: NodeJS.ProcessEnv, timeoutMs: number): CredentialSource {
  const c = config.credentials;
  if (c.source === 'file') {
    const file = c.file ?? env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
    return { get: () => Promise.resolve(fromFile(file, c.profile)) };
  }
  if (c.source === 'assume-role') {
    const endpoint = c.sts_endpoint ?? `https://sts.${config.region}.amazonaws.com`;
    return new AssumedRole(c.role_arn ?? '', c.session_name, config.region, endpoint, () => fromEnvironment(env), timeoutMs);
  }
  return { get: () => Promise.resolve(fromEnvironment(env)) };
}
