import type { DestinationStream } from 'pino';

/** A pino destination that keeps every JSON line a service writes, so tests can read what a request logged. */
export class LogCapture implements DestinationStream {
  readonly lines: Record<string, unknown>[] = [];

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }

  /** Every line logged while handling the request with this ID. */
  forRequest(requestId: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.request_id === requestId);
  }
}
