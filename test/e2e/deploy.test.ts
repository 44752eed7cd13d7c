/**
 * What deploy/ and the Dockerfile promise, checked with what runs here.
 *
 * No Docker engine runs on this machine (the docker client does, the daemon
 * does not) and helm is neither in Debian's packages nor on the npm registry,
 * so:
 * - the Dockerfile is linted by dockerfile-utils (the Docker language
 *   server's validator) and its shape asserted; the compose file's gateway
 *   config and command are run for real, outside a container, against a real
 *   Redis, and the image's HEALTHCHECK command is run against that gateway;
 * - the Helm chart is rendered by test/helpers/helm-lite.ts (the subset of
 *   Helm's templates the chart uses) and every manifest is validated against
 *   the Kubernetes API schemas compiled in kubernetes-models (Kubernetes
 *   1.27; unknown fields are not flagged, as kubeconform without -strict).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { send, writeConfig } from '../helpers/gateway.js';
import { cli, ROOT, startCli, type RunningCli } from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import { renderChart } from '../helpers/helm-lite.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('passes the Dockerfile linter, which does flag a broken one', () => {
    assert.deepEqual(lintDockerfile(dockerfile), []);
    const broken = lintDockerfile(dockerfile.replace('HEALTHCHECK --interval=10s', 'HEALTHCHECK --intervl=10s').replace('USER node', 'USER'));
    assert.ok(broken.length >= 2, JSON.stringify(broken));
  });

  it('is multi-stage, builds re2 in the build stage, runs as a non-root user with a HEALTHCHECK', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    assert.equal(froms.length, 2);
    assert.match(froms[0]!, / AS build$/);
    const runStage = instructions.slice(instructions.indexOf(froms[1]!));
    const buildStage = instructions.slice(0, instructions.indexOf(froms[1]!));
    assert.ok(buildStage.some((l) => l.includes('g++')) && buildStage.some((l) => l.includes("require('re2')")), 're2 is built and loaded in the build stage');
    assert.ok(!runStage.some((l) => /apt-get|g\+\+/.test(l)), 'no compilers in the run stage');
    assert.deepEqual(
      runStage.filter((l) => l.startsWith('USER ')),
      ['USER node'],
    );
    assert.ok(runStage.some((l) => l.startsWith('HEALTHCHECK ')));
    // Every file the build copies from the context exists, and .dockerignore lets it through.
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
    for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
        assert.ok(ignore.includes(`!${source}`), `.dockerignore lets ${source} in`);
      }
    }
  });
});

describe('docker-compose.yaml: the gateway with Redis and the demo upstream', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yaml'), 'utf8')) as {
    services: Record<string, { command?: string[]; volumes?: string[]; depends_on?: Record<string, unknown>; image?: string }>;
  };
  let redis: TestRedis | undefined;
  let gateway: RunningCli | undefined;
  after(async () => {
    gateway?.child.kill('SIGTERM');
    if (gateway) await gateway.exited;
    await redis?.close();
  });

  it('names the gateway, Redis and the demo upstream', () => {
    const { gateway: g, redis: r } = compose.services;
    assert.ok(g && r);
    assert.deepEqual(Object.keys(g.depends_on ?? {}), ['redis']);
    assert.ok(g.command!.includes('--demo-upstream'));
    assert.ok(g.volumes!.some((v) => v.startsWith('./deploy/docker/portcullis.yaml:/etc/portcullis/portcullis.yaml')));
  });

  it("runs its command and config against a real Redis (outside a container), and the image's HEALTHCHECK passes", async () => {
    redis = await startRedis();
    const [gatewayPort, demoPort] = [await freePort(), await freePort()];
    // What differs outside the compose network: loopback addresses, free ports, Redis by port.
    const yaml = readFileSync(join(ROOT, 'deploy/docker/portcullis.yaml'), 'utf8')
      .replace('0.0.0.0:8080', `127.0.0.1:${gatewayPort}`)
      .replace('0.0.0.0:9090', `127.0.0.1:${await freePort()}`)
      .replace('redis://redis:6379/0', redis.url)
      .replaceAll('127.0.0.1:9001', `127.0.0.1:${demoPort}`);
    const file = writeConfig(yaml);
    const command = compose.services.gateway!.command!.map((a) =>
      a === '/etc/portcullis/portcullis.yaml' ? file : a === '127.0.0.1:9001' ? `127.0.0.1:${demoPort}` : a === '/tmp/portcullis.pid' ? `${file}.pid` : a,
    );
    const env = { ...process.env, ALICE_KEY: 'compose-key', PORTCULLIS_METRICS_TOKEN: 'metrics-token' };
    gateway = startCli(command, { env });
    await gateway.waitFor(`portcullis listening on http://127.0.0.1:${gatewayPort}`);
    const origin = `http://127.0.0.1:${gatewayPort}`;
    const pub = await send(origin, '/public');
    assert.equal(pub.status, 200, gateway.output() + pub.text);
    assert.equal((await send(origin, '/api/orders')).status, 401);
    assert.equal((await send(origin, '/api/orders', { headers: { 'x-api-key': 'compose-key' } })).status, 200);
    // The rate limit's counters are in Redis.
    assert.notEqual(await redis.command('DBSIZE'), ':0');

    const healthcheck = instructions.find((l) => l.startsWith('HEALTHCHECK '))!;
    const argv = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    assert.equal(argv[0], 'node');
    const probe = (url: string) => spawnSync(process.execPath, argv.slice(1), { env: { ...process.env, PORTCULLIS_HEALTH_URL: url }, timeout: 10_000 }).status;
    assert.equal(probe(`${origin}/healthz`), 0);
    assert.equal(probe(`http://127.0.0.1:${await freePort()}/healthz`), 1, 'a gateway that does not answer is unhealthy');
  });
});

describe('Helm chart deploy/helm/portcullis', () => {
  const chart = join(ROOT, 'deploy/helm/portcullis');
  const MODELS: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1/Deployment': Deployment,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/Service': Service,
  };
  const validateAll = (manifests: Array<Record<string, unknown>>) => {
    for (const m of manifests) {
      const Model = MODELS[`${String(m.apiVersion)}/${String(m.kind)}`];
      assert.ok(Model, `a schema for ${String(m.apiVersion)} ${String(m.kind)}`);
      new Model(m as never).validate();
    }
  };
  const byKind = (manifests: Array<Record<string, unknown>>, kind: string) => manifests.find((m) => m.kind === kind) as Record<string, any> | undefined;

  it('renders manifests that the Kubernetes schemas accept, with the defaults and with the options turned', () => {
    const defaults = renderChart(chart);
    assert.deepEqual(defaults.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
    validateAll(defaults);
    const turned = renderChart(chart, { autoscaling: { enabled: false }, podDisruptionBudget: { enabled: false }, existingSecret: 'vault-synced', replicaCount: 3 });
    assert.deepEqual(turned.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'Service']);
    validateAll(turned);
    const deployment = byKind(turned, 'Deployment')!;
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.template.spec.containers[0].envFrom[0].secretRef.name, 'vault-synced');
    // And the validator does refuse a wrong manifest.
    const wrong = structuredClone(byKind(defaults, 'Deployment')!);
    wrong.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    assert.throws(() => new Deployment(wrong as never).validate(), /containerPort must be integer/);
  });

  it('ties preStop and the grace period to the drain delay, probes the health endpoints, runs non-root', () => {
    const manifests = renderChart(chart, { drainDelaySeconds: 15, shutdownTimeoutSeconds: 20 });
    const pod = byKind(manifests, 'Deployment')!.spec.template.spec;
    const container = pod.containers[0];
    assert.deepEqual(container.lifecycle.preStop.exec.command, ['sleep', '15']);
    assert.equal(pod.terminationGracePeriodSeconds, 15 + 20 + 5);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/livez', port: 'admin' });
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok((pod.volumes as Array<{ configMap?: { name: string } }>).some((v) => v.configMap?.name === 'edge-config'));
    assert.deepEqual(byKind(manifests, 'HorizontalPodAutoscaler')!.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'edge' });
    assert.deepEqual(byKind(manifests, 'PodDisruptionBudget')!.spec.selector.matchLabels, byKind(manifests, 'Deployment')!.spec.selector.matchLabels);
  });

  it("puts a config in the ConfigMap that portcullis validate accepts with the Secret's values, on the ports the probes use", async () => {
    const manifests = renderChart(chart);
    const config = byKind(manifests, 'ConfigMap')!.data['portcullis.yaml'] as string;
    const secrets = byKind(manifests, 'Secret')!.stringData as Record<string, string>;
    const result = await cli(['validate', '-c', writeConfig(config)], { env: { ...process.env, ...secrets } });
    assert.equal(result.code, 0, result.stderr);
    const parsed = parse(config) as { listeners: Array<{ address: string }>; admin: { address: string }; gateway: { health_path: string } };
    const ports = byKind(manifests, 'Deployment')!.spec.template.spec.containers[0].ports as Array<{ name: string; containerPort: number }>;
    assert.equal(parsed.listeners[0]!.address, `0.0.0.0:${ports.find((p) => p.name === 'http')!.containerPort}`);
    assert.equal(parsed.admin.address, `0.0.0.0:${ports.find((p) => p.name === 'admin')!.containerPort}`);
    assert.equal(parsed.gateway.health_path, '/healthz');
  });
});
