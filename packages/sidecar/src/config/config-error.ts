/**
 * A configuration problem found at start-up. Its message names the setting (flag, variable or
 * config-file field) and says how to fix it; `switchyard start` prints it and exits with 2.
 * It is not a `SwitchyardError`: it is never sent to a client.
 */
export class ConfigError extends Error {
  /** The setting at fault, e.g. `SWITCHYARD_PORT` or `rules[2].match.messagePattern`. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
