import { expect } from 'chai';
import {
  entryWidths,
  formatEntry,
  logTime,
  mergeByTime,
  parseJsonLine,
  requestEntries,
  type LogEntry,
} from '../src/log-lines.ts';

/** A pino line of a service, as the platform logs it. */
function serviceLine(fields: Record<string, unknown>): string {
  return JSON.stringify({
    level: 'info',
    service_name: 'case-service',
    message: 'request completed',
    ...fields,
  });
}

describe('log lines', () => {
  it('keeps only JSON object lines whose request_id is the one asked for', () => {
    const log = [
      'plain text startup banner',
      serviceLine({ time: '2025-06-01T10:00:00.000Z', request_id: 'r1' }),
      serviceLine({ time: '2025-06-01T10:00:01.000Z', request_id: 'r2' }),
      '{"request_id":"r1", cut off',
      '["r1"]',
      `  ${serviceLine({ time: '2025-06-01T10:00:02.000Z', request_id: 'r1' })}\r`,
      '',
    ].join('\n');

    const entries = requestEntries(log, 'r1', 'pod-a/app');
    expect(entries.map((entry) => entry.time)).to.deep.equal([
      Date.parse('2025-06-01T10:00:00.000Z'),
      Date.parse('2025-06-01T10:00:02.000Z'),
    ]);
    expect(entries.every((entry) => entry.source === 'pod-a/app')).to.equal(true);
  });

  it('merges sources by time, keeps the read order for equal times, and puts lines without a time last', () => {
    const entry = (source: string, time: string | undefined): LogEntry =>
      requestEntries(serviceLine({ time, request_id: 'r' }), 'r', source)[0]!;
    const merged = mergeByTime([
      entry('a/1', '2025-06-01T10:00:03.000Z'),
      entry('a/2', undefined),
      entry('a/3', '2025-06-01T10:00:01.000Z'),
      entry('b/1', '2025-06-01T10:00:02.000Z'),
      entry('b/2', '2025-06-01T10:00:01.000Z'),
      entry('b/3', 'not a time'),
    ]);
    expect(merged.map((item) => item.source)).to.deep.equal(['a/3', 'b/2', 'b/1', 'a/1', 'a/2', 'b/3']);
  });

  it('reads epoch-millisecond times as well as ISO strings', () => {
    const [entry] = requestEntries(serviceLine({ time: 1748772000000, request_id: 'r' }), 'r', 'p/c');
    expect(new Date(entry!.time).toISOString()).to.equal('2025-06-01T10:00:00.000Z');
  });

  it("formats Envoy's access log line as an access with method, path, status and duration", () => {
    const [entry] = requestEntries(
      JSON.stringify({
        time: '2025-06-01T10:15:02.118Z',
        service_name: 'gateway',
        request_id: 'r',
        method: 'GET',
        path: '/v1/users',
        status: 401,
        duration_ms: 0,
      }),
      'r',
      'mrp-gateway-1/envoy',
    );
    expect(formatEntry(entry!)).to.equal(
      '2025-06-01T10:15:02.118Z  mrp-gateway-1/envoy  gateway  access  GET /v1/users -> 401 (0 ms)',
    );
  });

  it("formats a service line with its level, message and error, lined up with the other sources' lines", () => {
    const entries = [
      ...requestEntries(
        serviceLine({
          time: '2025-06-01T10:15:02.131Z',
          request_id: 'r',
          level: 'error',
          message: 'unhandled error',
          err: { type: 'Error', message: 'boom' },
        }),
        'r',
        'case-1/case-service',
      ),
      ...requestEntries(
        JSON.stringify({ time: '2025-06-01T10:15:02.100Z', service_name: 'gateway', request_id: 'r' }),
        'r',
        'gw/envoy',
      ),
    ];
    const widths = entryWidths(entries);
    expect(entries.map((entry) => formatEntry(entry, widths))).to.deep.equal([
      '2025-06-01T10:15:02.131Z  case-1/case-service  case-service  error   unhandled error error: boom',
      '2025-06-01T10:15:02.100Z  gw/envoy             gateway       access',
    ]);
  });

  it('parses only whole JSON objects, after trimming', () => {
    expect(parseJsonLine('  {"a":1}  ')).to.deep.equal({ a: 1 });
    for (const line of ['', 'text', '[1]', '{"a":', 'null', '"{}"', ' 5'])
      expect(parseJsonLine(line), line).to.equal(undefined);
  });

  it('reads a time from an ISO string or epoch ms, and nothing else', () => {
    expect(logTime('2025-06-01T10:00:00.000Z')).to.equal(Date.parse('2025-06-01T10:00:00.000Z'));
    expect(logTime(1_700_000_000_000)).to.equal(1_700_000_000_000);
    for (const value of [undefined, null, true, {}]) expect(logTime(value), JSON.stringify(value)).to.be.NaN;
    expect(logTime('yesterday')).to.be.NaN;
  });

  it('keeps the line as logged, trimmed, and its source', () => {
    const line = '{"request_id":"r","time":5}';
    expect(requestEntries(`  ${line}\t`, 'r', 'pod/c')).to.deep.equal([
      { source: 'pod/c', time: 5, fields: { request_id: 'r', time: 5 }, line },
    ]);
  });

  it('orders by time, then by the order read; entries without a time keep their order, last', () => {
    const entry = (time: number, source: string): LogEntry => ({ source, time, fields: {}, line: '' });
    const merged = mergeByTime([
      entry(NaN, 'n1'),
      entry(20, 'b1'),
      entry(10, 'a'),
      entry(NaN, 'n2'),
      entry(20, 'b2'),
      entry(NaN, 'n3'),
    ]);
    expect(merged.map((each) => each.source)).to.deep.equal(['a', 'b1', 'b2', 'n1', 'n2', 'n3']);
  });

  it('formats what a line has: no time, no service, no level, an empty message, numbers, and no widths', () => {
    const line = formatEntry({
      source: 's',
      time: NaN,
      fields: { message: '', msg: 'from msg', status_code: 503, duration_ms: 7, err: { message: '' } },
      line: '',
    });
    expect(line).to.equal(`${'(no time)'.padEnd(24)}  s  ?  -       from msg -> 503 (7 ms)`);
    expect(
      formatEntry({ source: 's', time: 0, fields: { level: 'warn', message: 'm', method: 'GET' }, line: '' }),
    ).to.equal('1970-01-01T00:00:00.000Z  s  ?  warn    m');
  });
});
