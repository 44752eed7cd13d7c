/**
 * A real HTTP receiver for the sink tests: a node http server that answers
 * like Splunk's HTTP Event Collector (checks `Authorization: Splunk <token>`,
 * 403 on a wrong one, parses concatenated event objects) or Elasticsearch's
 * _bulk (NDJSON action and document lines, 409 for an _id already created).
 * It keeps what it accepted, in order.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Collector {
  url: string;
  /** Accepted records: HEC event objects or bulk documents. */
  records: Array<Record<string, any>>;
  /** Every answer status, in order. */
  statuses: number[];
  /** The token HEC accepts now (tests change it). */
  token: string;
  close(): Promise<void>;
}

/** Splits concatenated JSON objects ({...}{...} or one per line), as HEC accepts them. */
function splitObjects(text: string): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Record<string, any>);
  }
  return out;
}

export async function startCollector(kind: 'splunk-hec' | 'elasticsearch-bulk', token = 'hec-token-1'): Promise<Collector> {
  const ids = new Set<string>();
  const collector: Collector = { url: '', records: [], statuses: [], token, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = (status: number, json: unknown) => {
        collector.statuses.push(status);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      };
      if (kind === 'splunk-hec') {
        if (req.headers.authorization !== `Splunk ${collector.token}`) return answer(403, { text: 'Invalid token', code: 4 });
        collector.records.push(...splitObjects(body));
        return answer(200, { text: 'Success', code: 0 });
      }
      const lines = body.split('\n').filter((l) => l !== '');
      const items: unknown[] = [];
      let errors = false;
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const action = JSON.parse(lines[i]!) as { create: { _index: string; _id: string } };
        if (ids.has(action.create._id)) {
          errors = true;
          items.push({ create: { _index: action.create._index, _id: action.create._id, status: 409, error: { type: 'version_conflict_engine_exception' } } });
          continue;
        }
        ids.add(action.create._id);
        collector.records.push({ _index: action.create._index, ...(JSON.parse(lines[i + 1]!) as object) });
        items.push({ create: { _index: action.create._index, _id: action.create._id, status: 201 } });
      }
      answer(200, { took: 1, errors, items });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  collector.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  collector.close = () => new Promise((resolve) => server.close(() => resolve()));
  return collector;
}
