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
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Handle = (req: IncomingMessage, res: ServerResponse) => void;

/** Requests parsed ahead of the one in progress before the connection stops being read. */
const MAX_WAITING = 16;

const LINE = Symbol('portcullis.pipeline-line');

class Line {
  private busy = false;
  private pausedByUs = false;
  /** Waiting requests as [req, res, req, res, ...]. */
  private readonly waiting: Array<IncomingMessage | ServerResponse> = [];

  constructor(
    private readonly socket: Socket,
    private readonly handle: Handle,
  ) {}

  take(req: IncomingMessage, res: ServerResponse): void {
    if (!this.busy) {
      this.start(req, res);
      return;
    }
    this.waiting.push(req, res);
    if (this.waiting.length >= MAX_WAITING * 2 && !this.pausedByUs) {
      this.pausedByUs = true;
      this.socket.pause();
    }
  }

  private start(req: IncomingMessage, res: ServerResponse): void {
    this.busy = true;
    res.on('close', this.next);
    this.handle(req, res);
  }

  /** The answer in progress is done: start the next request, if the connection carries on. */
  private readonly next = (): void => {
    const req = this.waiting.shift() as IncomingMessage | undefined;
    const res = this.waiting.shift() as ServerResponse | undefined;
    // Node gives the socket to the next answer when the previous one finishes on a connection that stays
    // open. Otherwise (closed, or closing after "Connection: close") the waiting requests are never served.
    if (!req || !res || this.socket.destroyed || (this.socket as { _httpMessage?: unknown })._httpMessage !== res) {
      this.waiting.length = 0;
      this.busy = false;
      return;
    }
    if (this.pausedByUs && this.waiting.length < MAX_WAITING) {
      this.pausedByUs = false;
      this.socket.resume();
    }
    this.start(req, res);
  };
}

/** Wraps the server's request handler so that each connection's requests run one after another. */
export function oneAtATime(handle: Handle): Handle {
  return (req, res) => {
    const socket = req.socket as Socket & { [LINE]?: Line };
    (socket[LINE] ??= new Line(socket, handle)).take(req, res);
  };
}
