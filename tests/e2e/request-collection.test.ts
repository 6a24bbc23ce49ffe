import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { eventually } from '../support/eventually.ts';
import { contract } from '../support/http.ts';
import { parseHttpFile, sendHttpFile } from '../support/http-file.ts';

const COLLECTION = join(resolve(import.meta.dirname, '..', '..'), 'requests', 'seed-flow.http');

describe('the request collection of the seed flow (requests/seed-flow.http) through the real Envoy', function () {
  this.timeout(60_000);
  let platform: FullPlatform;

  before(async function () {
    platform = await startFullPlatform();
  });
  after(async function () {
    await platform.stop();
  });

  it('reads as the seed flow: login, create a user, create a case, read it, query the audit log', function () {
    const file = parseHttpFile(readFileSync(COLLECTION, 'utf8'));
    expect(file.variables.get('gateway')).to.equal('http://localhost:8080');
    expect(file.requests.map((request) => `${request.method} ${request.url.split('?')[0]!}`)).to.deep.equal([
      'POST {{gateway}}/v1/auth/login',
      'POST {{gateway}}/v1/users',
      'POST {{gateway}}/v1/cases',
      'GET {{gateway}}/v1/cases/{{case.response.body.id}}',
      'GET {{gateway}}/v1/audit',
    ]);
  });

  it('when every request is sent in order against the platform, each gets its answer, and the case reaches the audit log', async function () {
    const file = parseHttpFile(readFileSync(COLLECTION, 'utf8'));
    const sent = await sendHttpFile(file, { gateway: platform.url });
    expect(sent.map((each) => `${each.request.name ?? ''} ${each.response.status}`)).to.deep.equal([
      'login 200',
      'user 201',
      'case 201',
      'read 200',
      'audit 200',
    ]);
    const created = contract('CaseV1', sent[2]!.response.body);
    expect(created.owner_id).to.equal(contract('User', sent[1]!.response.body).id);
    expect(contract('CaseV1', sent[3]!.response.body).id).to.equal(created.id);
    // The audit entry arrives through Redis Streams: the last request, as it was sent, again until it lists it.
    const audit = sent[4]!;
    const token = contract('TokenResponse', sent[0]!.response.body).access_token;
    expect(audit.url).to.equal(`${platform.url}/v1/audit?case_id=${created.id}`);
    await eventually(async () => {
      const answer = await fetch(audit.url, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).to.equal(200);
      expect(await answer.text()).to.include('"case_created"');
    });
  });

  it('when a reference names a response that does not exist, sending fails and says which', async function () {
    const broken = parseHttpFile('###\nGET {{gateway}}/v1/cases/{{nothing.response.body.id}}\n');
    await sendHttpFile(broken, { gateway: platform.url }).then(
      () => expect.fail('sent with an unresolved reference'),
      (error: unknown) =>
        expect((error as Error).message).to.equal('cannot resolve {{nothing.response.body.id}}'),
    );
  });
});
