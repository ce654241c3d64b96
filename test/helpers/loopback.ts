import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { atFileEnd } from './file-end.ts';

/** Listens on a free port of 127.0.0.1 for the rest of the test file (closed, with its connections, at its end). */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  atFileEnd(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
