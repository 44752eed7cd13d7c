/** One plain HTTP request, and waiting until a server answers: the checks run before measuring. */
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls url until it answers (any status), or fails once `exited` settles or the time is up. */
export async function waitUntilAnswering(url: string, exited: Promise<string>, what: string, timeoutMs = 15_000): Promise<void> {
  let gone: string | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`${what} exited (${gone}) before answering`);
    try {
      await get(url, {}, 1000);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer on ${url} within ${timeoutMs} ms (${last})`);
}
