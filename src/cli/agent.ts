import { parseArgs } from 'node:util';
import { startAgent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { serviceLogger } from '../agent/log.js';
import { CliError } from './errors.js';

/** `qstor agent --config FILE`: runs until SIGINT/SIGTERM, then stops its zdbs. */
export async function agent(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  if (!values.config) throw new CliError('USAGE', 'usage: qstor agent --config FILE (see src/agent/README.md for the fields)');
  const config = loadAgentConfig(values.config);
  const log = serviceLogger('qstor-agent');
  const running = await startAgent(config, log, (err) => {
    log.error({ code: err.code, msg: err.message }, 'registration refused; stopping');
    void running.stop().then(() => process.exit(1));
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
  log.info('agent stopped');
  log.flush();
}
