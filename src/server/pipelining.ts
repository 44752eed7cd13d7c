/**
 * Pipelined HTTP/1.1 requests are served one at a time per connection, in
 * order, as nginx and HAProxy serve them. Node's server starts every request
 * it parses at once: a single packet of a few thousand pipelined requests
 * would become as many upstream requests in flight (taking a service's whole
 * connection pool and the gateway's max_in_flight), and the answers of those
 * still queued when the client left never emitted 'close', so they were
 * counted in flight for ever (until overload shedding refused everyone).
 *
 * A request waits here until the one before it has been answered; requests
 * parsed ahead are bounded by pausing the socket.
 *
 * Node already keeps the order of the answers: a response gets the socket
 * (res.socket, and its 'socket' event) only once the answer before it has
 * finished, on a connection that stays open. So a request whose response
 * holds the socket is the only one in progress and starts at once, with no
 * per-request bookkeeping (the common case: one request at a time); one
 * parsed ahead starts when Node hands its response the socket, and never if
 * the connection closes first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Handle = (req: IncomingMessage, res: ServerResponse) => void;

/** Requests parsed ahead of the one in progress before the connection stops being read. */
const MAX_WAITING = 16;

const WAITING = Symbol('portcullis.pipeline-waiting');

/** Requests waiting on a connection, and whether we paused it because of them. */
interface Waiting {
  count: number;
  pausedByUs: boolean;
}

type Tracked = Socket & { [WAITING]?: Waiting };

/** Wraps the server's request handler so that each connection's requests run one after another. */
export function oneAtATime(handle: Handle): Handle {
  return (req, res) => {
    if (res.socket !== null) {
      handle(req, res);
      return;
    }
    const socket = req.socket as Tracked;
    const waiting = (socket[WAITING] ??= { count: 0, pausedByUs: false });
    waiting.count++;
    if (waiting.count >= MAX_WAITING && !waiting.pausedByUs) {
      waiting.pausedByUs = true;
      socket.pause();
    }
    res.once('socket', () => {
      waiting.count--;
      if (waiting.pausedByUs && waiting.count < MAX_WAITING) {
        waiting.pausedByUs = false;
        socket.resume();
      }
      handle(req, res);
    });
  };
}
