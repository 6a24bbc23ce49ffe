/**
 * Just enough of the protobuf wire format to read the spans out of an OTLP/HTTP protobuf export
 * (ExportTraceServiceRequest), as Envoy sends it: service name, trace and span ids, parent, name, kind.
 */

type Field = Buffer | bigint;

/** Every field of one message, by field number, in order (repeated fields keep all their values). */
function fields(message: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = message[offset++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < message.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    let value: Field;
    if (wireType === 0) value = varint();
    else if (wireType === 1) {
      value = message.readBigUInt64LE(offset);
      offset += 8;
    } else if (wireType === 2) {
      const length = Number(varint());
      value = message.subarray(offset, offset + length);
      offset += length;
    } else if (wireType === 5) {
      value = BigInt(message.readUInt32LE(offset));
      offset += 4;
    } else throw new Error(`unsupported wire type ${wireType}`);
    out.set(number, [...(out.get(number) ?? []), value]);
  }
  return out;
}

const bytes = (message: Map<number, Field[]>, number: number): Buffer[] =>
  (message.get(number) ?? []).filter((value): value is Buffer => Buffer.isBuffer(value));

export interface ProtobufSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
}

/** The spans of an ExportTraceServiceRequest. */
export function decodeTraceExport(body: Buffer): ProtobufSpan[] {
  const spans: ProtobufSpan[] = [];
  for (const resourceSpans of bytes(fields(body), 1).map(fields)) {
    let service = '';
    for (const resource of bytes(resourceSpans, 1).map(fields)) {
      for (const attribute of bytes(resource, 1).map(fields)) {
        const key = bytes(attribute, 1)[0]?.toString('utf8');
        const value = bytes(attribute, 2).map(fields)[0];
        if (key === 'service.name' && value) service = bytes(value, 1)[0]?.toString('utf8') ?? '';
      }
    }
    for (const scopeSpans of bytes(resourceSpans, 2).map(fields)) {
      for (const span of bytes(scopeSpans, 2).map(fields)) {
        spans.push({
          service,
          traceId: bytes(span, 1)[0]?.toString('hex') ?? '',
          spanId: bytes(span, 2)[0]?.toString('hex') ?? '',
          parentSpanId: bytes(span, 4)[0]?.toString('hex') ?? '',
          name: bytes(span, 5)[0]?.toString('utf8') ?? '',
          kind: Number(span.get(6)?.[0] ?? 0n),
        });
      }
    }
  }
  return spans;
}
