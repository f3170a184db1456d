/**
 * `switchyard start`: runs the sidecar until SIGTERM or SIGINT, then shuts down gracefully
 * (in-flight requests and streams finish, bounded by --shutdown-timeout-ms). A second signal
 * exits at once.
 */
import { ConfigError } from '../config/config-error.js';
import { startHelpText } from '../config/help-text.js';
import { createLearningPlugin } from '../learning/learning-plugin.js';
import { type SidecarPlugin, startSidecar } from '../main.js';

/**
 * Runs `switchyard start` with the arguments after `start`; resolves to the exit code once the
 * sidecar has stopped (or failed to start). By default the learning plugin supplies the rule
 * store (Redis or a snapshot file), span intake (`POST /v1/traces`), the learner, the rules API
 * (`/switchyard/*`) and the dashboard (`GET /`).
 *
 * @example process.exitCode = await run(['--port', '9000']);
 */
export async function run(
  argv: readonly string[],
  plugins: readonly SidecarPlugin[] = [createLearningPlugin()],
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(startHelpText());
    return 0;
  }
  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    sidecar = await startSidecar({ argv, env: process.env, plugins });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchyard start: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(
      `switchyard start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`switchyard: second ${signal}, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      sidecar.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
