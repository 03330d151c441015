/**
 * The client side of the control socket: connect to the daemon's UNIX
 * socket, send one request code (4 bytes, little-endian), pass the reply on
 * until the daemon closes the connection.
 */
import { connect } from 'node:net';
import { REQUEST_LEN } from '../control/codes';

/** What 1.4.7 logs (as an ERROR, exit 1) when the request cannot be delivered. */
export const CANT_CONNECT = "can't connect: is conntrackd running? appropriate permissions?";

/**
 * Sends `code` to the daemon at `path`, calling `onReply` with each piece of
 * the reply. Resolves false when no connection could be made (no socket,
 * nobody listening, no permission) or it broke before the request was sent.
 */
export function request(path: string | undefined, code: number, onReply: (chunk: Buffer) => void): Promise<boolean> {
  // No UNIX section: 1.4.7 tries an empty path, which fails like a missing socket.
  if (path === undefined || path === '') return Promise.resolve(false);
  return new Promise((resolve) => {
    const message = Buffer.alloc(REQUEST_LEN);
    message.writeInt32LE(code, 0);
    let sent = false;
    const socket = connect({ path });
    socket.on('connect', () => {
      socket.write(message, () => {
        sent = true;
      });
    });
    socket.on('data', onReply);
    // A daemon that closes at once (unknown code) may do so before our write callback ran: still delivered.
    socket.on('end', () => {
      sent = true;
    });
    socket.on('error', () => {
      // Connection refused or reset after the request was delivered: the reply just ends.
    });
    socket.on('close', () => resolve(sent));
  });
}
