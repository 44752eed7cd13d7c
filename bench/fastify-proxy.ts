/**
 * The peer PERFORMANCE.md measures Portcullis against: fastify with
 * @fastify/reply-from (undici underneath), no features (no logger, no auth,
 * no hooks): every request forwarded to the upstream as it came.
 * Started by bench/run.ts: node --import tsx bench/fastify-proxy.ts PORT UPSTREAM_URL
 */
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';

const [portText, upstream] = process.argv.slice(2);
if (!portText || !upstream) {
  process.stderr.write('usage: fastify-proxy.ts PORT UPSTREAM_URL\n');
  process.exit(2);
}

const app = Fastify({ logger: false });
// The same upstream pool size as the bare proxy's, so neither waits for a connection the other has.
await app.register(replyFrom, { base: upstream, undici: { connections: 256 } });
app.all('/*', (request, reply) => reply.from(request.url));
await app.listen({ port: Number(portText), host: '127.0.0.1' });
