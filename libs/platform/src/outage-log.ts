import type { Logger } from './logger.ts';

/**
 * For a loop that retries every round: says once that it stopped working (with the first error) and once
 * that it works again, instead of a line per failed round.
 */
export class OutageLog {
  readonly #logger: Logger;
  readonly #messages: { readonly down: string; readonly up: string };
  #down = false;

  constructor(logger: Logger, messages: { readonly down: string; readonly up: string }) {
    this.#logger = logger;
    this.#messages = messages;
  }

  failed(error: unknown): void {
    if (!this.#down) this.#logger.warn({ err: error }, this.#messages.down);
    this.#down = true;
  }

  succeeded(): void {
    if (this.#down) this.#logger.info(this.#messages.up);
    this.#down = false;
  }
}
