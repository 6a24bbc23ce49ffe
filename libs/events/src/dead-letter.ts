/** What a consumer parks in the dead-letter stream when a message cannot be handled. */
import type { DeadLetterReason } from './stream-replies.ts';

export interface DeadLetter {
  readonly stream: string;
  readonly entryId: string;
  readonly group: string;
  readonly consumer: string;
  readonly reason: DeadLetterReason;
  readonly error: string;
  readonly deliveries: number;
  readonly payload: string;
  readonly failedAt: Date;
}

/** The fields of a dead-letter entry: enough to see why it failed and to replay the original payload. */
export function deadLetterFields(letter: DeadLetter): string[] {
  return [
    'stream',
    letter.stream,
    'entry_id',
    letter.entryId,
    'group',
    letter.group,
    'consumer',
    letter.consumer,
    'reason',
    letter.reason,
    'error',
    letter.error.slice(0, 2000),
    'deliveries',
    String(letter.deliveries),
    'failed_at',
    letter.failedAt.toISOString(),
    'payload',
    letter.payload,
  ];
}
