/** A bad or missing setting: the message names the variable, and start-up stops on it. */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`config: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}
