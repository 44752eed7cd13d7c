/**
 * One small interface over node-redis's three deployments (a single server,
 * Sentinel, Cluster), so the store does not care which it talks to. Every
 * connection: commands fail at once while disconnected (no offline queue, so
 * nothing piles up during an outage), the queue is bounded, and reconnection
 * goes on forever with capped backoff. node-redis's command timeout only
 * bounds the wait before a command is written; RedisStore bounds the whole
 * round trip.
 */
import { createClient, createCluster, createSentinel } from 'redis';

export interface RedisDeployment {
  /** redis://host:port/db or rediss:// for TLS (a single server or the cluster's seed nodes). */
  readonly url?: string;
  readonly sentinel?: { readonly name: string; readonly nodes: readonly string[] };
  readonly cluster?: { readonly nodes: readonly string[] };
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
}

export interface RedisConnection {
  /** Sends one command; `key` routes it on a cluster. */
  send(key: string | undefined, args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  connect(): Promise<void>;
  close(): Promise<void>;
}

type ErrorSink = (err: Error) => void;
/** node-redis types unsubscribe listeners as taking strings or buffers; ours take strings. */
type AnyListener = (message: string | Buffer) => void;

/** Backoff between reconnection attempts: 50 ms doubling to 2 s, with jitter. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 6), 2000) + Math.floor(Math.random() * 50);
}

const QUEUE_LIMIT = 10_000;

function clientOptions(d: RedisDeployment) {
  return {
    username: d.username,
    password: d.password,
    disableOfflineQueue: true,
    commandsQueueMaxLength: QUEUE_LIMIT,
    socket: { connectTimeout: d.connectTimeoutMs, reconnectStrategy: reconnectDelay },
  };
}

export function parseNode(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`expected host:port, got ${JSON.stringify(address)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export function connectRedis(d: RedisDeployment, onError: ErrorSink): RedisConnection {
  if (d.cluster) return clusterConnection(d, onError);
  if (d.sentinel) return sentinelConnection(d, onError);
  return singleConnection(d, onError);
}

function singleConnection(d: RedisDeployment, onError: ErrorSink): RedisConnection {
  const client = createClient({ url: d.url, ...clientOptions(d), commandOptions: { timeout: d.timeoutMs } });
  client.on('error', onError);
  // Subscriptions need a connection of their own; it queues while offline so they survive outages.
  let subscriber: ReturnType<typeof client.duplicate> | undefined;
  let subscriberReady: Promise<unknown> | undefined;
  const sub = () => {
    if (!subscriber) {
      subscriber = client.duplicate({ disableOfflineQueue: false, commandOptions: {} });
      subscriber.on('error', onError);
      subscriberReady = subscriber.connect();
    }
    return subscriberReady!.then(() => subscriber!);
  };
  return {
    send: (_key, args) => client.sendCommand(args),
    subscribe: async (channel, listener) => void (await (await sub()).subscribe(channel, listener)),
    unsubscribe: async (channel, listener) => {
      if (subscriber) await subscriber.unsubscribe(channel, listener);
    },
    connect: async () => void (await client.connect()),
    close: async () => {
      await Promise.allSettled([client.isOpen ? client.close() : undefined, subscriber?.isOpen ? subscriber.close() : undefined]);
      client.destroy();
      subscriber?.destroy();
    },
  };
}

function sentinelConnection(d: RedisDeployment, onError: ErrorSink): RedisConnection {
  const node = clientOptions(d);
  const sentinel = createSentinel({
    name: d.sentinel!.name,
    sentinelRootNodes: d.sentinel!.nodes.map(parseNode),
    nodeClientOptions: node,
    sentinelClientOptions: { socket: node.socket, username: d.username, password: d.password },
    commandOptions: { timeout: d.timeoutMs },
  });
  sentinel.on('error', onError);
  return {
    send: (_key, args) => sentinel.sendCommand(false, args),
    subscribe: (channel, listener) => sentinel.subscribe(channel, listener).then(() => undefined),
    unsubscribe: (channel, listener) => sentinel.unsubscribe(channel, listener as AnyListener).then(() => undefined),
    connect: async () => void (await sentinel.connect()),
    close: async () => {
      await Promise.allSettled([sentinel.close()]);
      void sentinel.destroy();
    },
  };
}

function clusterConnection(d: RedisDeployment, onError: ErrorSink): RedisConnection {
  const cluster = createCluster({
    rootNodes: d.cluster!.nodes.map((n) => ({ url: n.includes('://') ? n : `redis://${n}` })),
    defaults: clientOptions(d),
    commandOptions: { timeout: d.timeoutMs },
  });
  cluster.on('error', onError);
  return {
    send: (key, args) => cluster.sendCommand(key, false, args),
    subscribe: (channel, listener) => cluster.subscribe(channel, listener),
    unsubscribe: (channel, listener) => cluster.unsubscribe(channel, listener as AnyListener),
    connect: async () => void (await cluster.connect()),
    close: async () => {
      await Promise.allSettled([cluster.close()]);
      cluster.destroy();
    },
  };
}
