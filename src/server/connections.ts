/**
 * Slow clients cannot take every connection: past `max` open connections, the oldest one that is not being
 * answered right now (idle keep-alive, or still sending its headers or body) is closed to make room, so a flood of
 * half-open connections loses to normal requests instead of exhausting the process's file descriptors.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionCap {
  /** The socket is being answered (its request arrived whole): never closed to make room. */
  busy(socket: Socket): void;
  idle(socket: Socket): void;
  readonly open: number;
}

export function capConnections(server: Server, max: number): ConnectionCap {
  // Insertion order: the oldest connection first.
  const sockets = new Map<Socket, { busy: number }>();
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { busy: 0 });
    socket.once('close', () => sockets.delete(socket));
    if (sockets.size <= max) return;
    for (const [candidate, state] of sockets) {
      if (state.busy === 0 && candidate !== socket) {
        candidate.destroy();
        sockets.delete(candidate);
        return;
      }
    }
    // Every other connection is being answered: the newcomer waits for nobody.
    socket.destroy();
  });
  return {
    busy(socket) {
      const state = sockets.get(socket);
      if (state) state.busy++;
    },
    idle(socket) {
      const state = sockets.get(socket);
      if (state && state.busy > 0) state.busy--;
    },
    get open() {
      return sockets.size;
    },
  };
}
