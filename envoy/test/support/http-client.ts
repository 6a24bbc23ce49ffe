import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface GatewayResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body as received (not decompressed). */
  readonly bytes: Buffer;
}

export interface SendOptions {
  readonly method?: string;
  /** Sent as is: no normalisation, so dot segments and doubled slashes reach Envoy. */
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
  /** The client's source address, e.g. 127.0.0.2 to act as a second client on loopback. */
  readonly localAddress?: string;
}

/** One request to `127.0.0.1:<port>` on a fresh connection, read whole. */
export async function send(port: number, options: SendOptions): Promise<GatewayResponse> {
  return new Promise<GatewayResponse>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        localAddress: options.localAddress,
        // A fresh connection per request: a pooled one would hide which source address was used.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: bytes.toString('utf8'), bytes });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The body parsed as a JSON object (throws with the body when it is not one). */
export function jsonObject(response: GatewayResponse): Record<string, unknown> {
  const parsed: unknown = JSON.parse(response.text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`expected a JSON object, got: ${response.text}`);
  }
  return parsed as Record<string, unknown>;
}

/** Decodes the claims Envoy forwards in `x-jwt-payload` (base64url JSON). */
export function decodePayloadHeader(value: string | string[] | undefined): Record<string, unknown> {
  if (typeof value !== 'string')
    throw new Error(`expected one x-jwt-payload header, got ${JSON.stringify(value)}`);
  return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
}
