import type { Writer } from '../../src/output.ts';

/** A writer that keeps what a command printed, and can wait for a line it has yet to print. */
export class Output implements Writer {
  text = '';
  private readonly listeners = new Set<() => void>();

  write(chunk: string): void {
    this.text += chunk;
    for (const listener of this.listeners) listener();
  }

  get lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }

  /** Resolves with the first match of the pattern, as soon as it has been printed. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve) => {
      const check = (): void => {
        const match = pattern.exec(this.text);
        if (match) {
          this.listeners.delete(check);
          resolve(match);
        }
      };
      this.listeners.add(check);
      check();
    });
  }
}

/** stdout and stderr of one CLI run. */
export function captureIo(): { stdout: Output; stderr: Output } {
  return { stdout: new Output(), stderr: new Output() };
}
