import { DEFAULT_HOST, DEFAULT_PORT, resolveServerConfig } from '../../config.ts';
import { DATA_DIR_OPTION, defineCommand } from '../command.ts';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Migrate the database and serve GraphQL (and GraphiQL) over HTTP.',
  forms: [''],
  options: {
    host: {
      type: 'string',
      value: 'ADDRESS',
      description:
        'The address to listen on. Any other than loopback needs DIFFUSION_NEXUS_API_TOKEN (other machines could write).',
      byDefault: `HOST, else ${DEFAULT_HOST}`,
    },
    port: {
      type: 'string',
      value: 'PORT',
      description: 'The TCP port to listen on (0: any free port, printed at start).',
      byDefault: `PORT, else ${DEFAULT_PORT}`,
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values }, _io) {
    const config = resolveServerConfig({
      host: values.host,
      port: values.port,
      dataDir: values['data-dir'],
      databaseUrl: values['database-url'],
    });
    // The server (yoga, Pothos, the schema) is loaded only by the command that serves.
    const [{ startServer, stopOnSignals }, { createLogger }] = await Promise.all([
      import('../../server/start.ts'),
      import('../../server/logger.ts'),
    ]);
    const logger = createLogger(config.log);
    const server = await startServer(config, { logger });
    stopOnSignals(server, logger);
    // Keep the process alive until a signal stops it.
    await new Promise<never>(() => {});
    return 0;
  },
});
