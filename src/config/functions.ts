/**
 * The `functions:` section (docs/functions.md) and the settings of services
 * that run code instead of proxying to targets: `type: function` and
 * `type: aws-lambda`. A leaf like the rest of config/: src/functions/ reads
 * these shapes, and compile.ts cross-checks names.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Secret, Size } from './types.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'letters, digits, ".", "_", "-"' });
const Origin = Type.String({
  pattern: '^https?://[^/?#\\s]+$',
  description: 'scheme://host[:port], no path: an origin the function may fetch from',
});

export const FunctionSchema = Type.Object(
  {
    name: Name,
    file: Type.String({ minLength: 1, description: 'the module, JavaScript (.js, .mjs) or TypeScript (.ts), relative to the config file; compiled at load' }),
    memory: Size({ default: '32MiB', description: 'the most the function\'s heap may hold in one call' }),
    cpu: Duration({ default: '50ms', description: 'CPU time one call may spend running JavaScript' }),
    timeout: Duration({ default: '5s', description: 'wall-clock time one call may take, waits on fetch and kv included: past it 504' }),
    max_body: Size({ default: '1MiB', description: 'the largest request or response body handed to or taken from the function' }),
    pool: Type.Integer({ minimum: 0, maximum: 256, default: 4, description: 'sandboxes kept prepared ahead of calls (recycled between calls, each call wiped: docs/functions.md#the-sandbox)' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, description: 'calls in progress at once; more are answered 503' }),
    unhealthy_after: Type.Integer({ minimum: 1, default: 5, description: 'failed calls in a row that mark the function unhealthy (503 until cooldown passes)' }),
    cooldown: Duration({ default: '10s', description: 'how long an unhealthy function is out before one call tries it again' }),
    fetch: Type.Object(
      {
        allow: Type.Array(Origin, { default: [], description: 'origins fetch() may reach; none by default' }),
        allow_private: Type.Boolean({
          default: false,
          description: 'allow origins whose names resolve to private (RFC 1918, unique local) addresses; loopback, link-local and metadata addresses are refused always',
        }),
        timeout: Duration({ default: '2s', description: 'one fetch, until its response is read' }),
        max_calls: Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'fetches one call may make' }),
      },
      { additionalProperties: false, default: {}, description: 'outbound calls the function may make' },
    ),
    secrets: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' }), Secret(), {
      default: {},
      description: 'name → value, handed to the function as env.secrets.NAME (use ${env:...} or ${file:...})',
    }),
    kv: Type.Object(
      {
        max_value: Size({ default: '64KiB', description: 'the largest value the function may store' }),
        default_ttl: Duration({ default: '1h', description: 'how long a value lives when set without a ttl' }),
      },
      { additionalProperties: false, default: {}, description: 'env.kv: a key-value store of the function\'s own, in the gateway store (memory or Redis)' },
    ),
  },
  { additionalProperties: false },
);

export const FunctionsSchema = Type.Array(FunctionSchema, { default: [], description: 'code the gateway runs in a sandbox, as a service or as a hook' });

export const FunctionsRuntimeSchema = Type.Object(
  {
    threads: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 64, description: 'worker threads all functions share (each ~30 MiB); default min(2, CPU cores)' }),
    ),
  },
  { additionalProperties: false, default: {}, description: 'where functions run (docs/functions.md#threads)' },
);

export const LambdaSchema = Type.Object(
  {
    function_name: Type.String({ minLength: 1, maxLength: 170, description: 'the Lambda function\'s name or ARN (with an alias or version when wanted)' }),
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', description: 'the AWS region, such as eu-west-1' }),
    endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'another Lambda endpoint than https://lambda.REGION.amazonaws.com' })),
    payload: Type.Union([Type.Literal('v1'), Type.Literal('v2')], { default: 'v2', description: 'the API Gateway proxy event format: v1 (REST API) or v2 (HTTP API)' }),
    timeout: Duration({ default: '30s', description: 'the invocation, until the answer is read' }),
    max_body: Size({ default: '6MiB', description: 'the largest request body sent (Lambda\'s own limit is 6 MB)' }),
    unhealthy_after: Type.Integer({ minimum: 1, default: 5, description: 'failed invocations in a row that mark the service unhealthy (503 until cooldown passes)' }),
    cooldown: Duration({ default: '10s', description: 'how long an unhealthy Lambda service is out before one call tries it again' }),
    credentials: Type.Object(
      {
        source: Type.Union([Type.Literal('environment'), Type.Literal('file'), Type.Literal('assume-role')], {
          default: 'environment',
          description: 'environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; file: an AWS credentials file; assume-role: STS AssumeRole with the environment\'s keys',
        }),
        file: Type.Optional(Type.String({ minLength: 1, description: 'file: the credentials file (default ~/.aws/credentials)' })),
        profile: Type.String({ default: 'default', description: 'file: the profile' }),
        role_arn: Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/', description: 'assume-role: the role' })),
        session_name: Type.String({ default: 'portcullis', pattern: '^[\\w+=,.@-]{2,64}$', description: 'assume-role: the session name' }),
        sts_endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'assume-role: another STS endpoint than https://sts.REGION.amazonaws.com' })),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type FunctionConfig = Static<typeof FunctionSchema>;
export type LambdaConfig = Static<typeof LambdaSchema>;
