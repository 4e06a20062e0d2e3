import { startAgent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { serviceLogger } from '../agent/log.js';

/** `qstor agent --config FILE`: runs until SIGINT/SIGTERM, then stops its zdbs. */
export async function agent(o: { config: string }): Promise<void> {
  const config = loadAgentConfig(o.config);
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
