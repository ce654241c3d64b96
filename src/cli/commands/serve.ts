import { resolveServerConfig } from '../../config.ts';
import { startServer, stopOnSignals } from '../../server/start.ts';
import { createLogger } from '../../server/logger.ts';
import { DATA_DIR_OPTION, parseCommandArgs, type CliCommand } from '../command.ts';

const usage = 'diffusion-nexus serve [--host 127.0.0.1] [--port 4000] [--data-dir DIR]';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Migrate the database and serve GraphQL (and GraphiQL) over HTTP.',
  usage,
  async run(argv, _io) {
    const { values } = parseCommandArgs(
      argv,
      { ...DATA_DIR_OPTION, host: { type: 'string' }, port: { type: 'string' } },
      usage,
    );
    const config = resolveServerConfig({ host: values.host, port: values.port, dataDir: values['data-dir'] });
    const logger = createLogger(config.log);
    const server = await startServer(config, { logger });
    stopOnSignals(server, logger);
    // Keep the process alive until a signal stops it.
    await new Promise<never>(() => {});
    return 0;
  },
};
