import { expect } from 'chai';
import { resolveRequestId } from '../src/request-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the request ID a request is logged and answered with', () => {
  it("keeps the gateway's (or the caller's) when it is safe to log and echo", () => {
    for (const id of ['a', 'req-1.2_3:4@host', 'x'.repeat(128), 'b3f1c2d4-0000-4000-8000-000000000000'])
      expect(resolveRequestId(id), id).to.equal(id);
  });

  it('makes a new one when there is none, or when the one sent is too long or carries anything else', () => {
    for (const id of [
      undefined,
      '',
      'x'.repeat(129),
      'has space',
      'new\nline',
      '<script>',
      'ok\u0000',
      ' lead',
      'trail ',
    ])
      expect(resolveRequestId(id), JSON.stringify(id)).to.match(UUID);
    expect(resolveRequestId(undefined)).not.to.equal(resolveRequestId(undefined));
  });
});
