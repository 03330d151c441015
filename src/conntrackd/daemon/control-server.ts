/**
 * The control socket: a UNIX stream socket at `General { UNIX { Path } }`.
 * A client sends one 4-byte little-endian request code and reads the reply
 * until the daemon closes the connection (see ../control/codes.ts).
 *
 * The server owns the framing only: KILL goes to `onKill` (the process
 * shell stops the daemon), every other code to `handle` (the engine), and the
 * connection is closed when the reply is complete. A client that sends fewer
 * than four bytes, or leaves early, is dropped without a word, as 1.4.7 does.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Request, REQUEST_LEN } from '../control/codes';

export interface ControlHandlers {
  handle(code: number, reply: Socket): Promise<void>;
  onKill(): void;
  /** A handler failed: the daemon logs it and keeps serving. */
  onError(err: unknown): void;
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /**
   * Listens at `path`, replacing a stale socket file (a daemon that died
   * leaves one). The file's mode comes from the process umask, which the
   * daemon sets to 0177 (so the socket is 0600, as 1.4.7's).
   */
  static async listen(path: string, handlers: ControlHandlers): Promise<ControlServer> {
    try {
      unlinkSync(path);
    } catch {
      // No stale socket.
    }
    const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, handlers));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // 1.4.7's backlog.
      server.listen({ path, backlog: 100 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new ControlServer(server, path);
  }

  /** Stops accepting and removes the socket file. */
  close(): void {
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function serve(socket: Socket, handlers: ControlHandlers): void {
  let received = Buffer.alloc(0);
  let started = false;
  socket.on('error', () => socket.destroy());
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]);
    if (received.length < REQUEST_LEN || started) return;
    started = true;
    socket.off('data', onData);
    // Anything after the code is ignored, as 1.4.7 reads only the code.
    socket.resume();
    void answer(socket, received.readInt32LE(0), handlers);
  };
  socket.on('data', onData);
  socket.on('end', () => {
    if (!started) socket.destroy();
  });
}

async function answer(socket: Socket, code: number, handlers: ControlHandlers): Promise<void> {
  if (code === Request.KILL) {
    socket.end();
    handlers.onKill();
    return;
  }
  try {
    await handlers.handle(code, socket);
  } catch (err) {
    handlers.onError(err);
  }
  socket.end();
}
