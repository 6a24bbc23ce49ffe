import { expect } from 'chai';
import { PROBLEM_TYPE_PREFIX } from '../../src/gateway.ts';
import { jsonObject, type GatewayResponse } from './http-client.ts';

/**
 * Asserts that `response` is one of Envoy's RFC 9457 problem replies with `status`, carrying the
 * request ID it returned in the header, and gives back the problem body.
 */
export function expectProblem(response: GatewayResponse, status: number): Record<string, unknown> {
  expect(response.status, response.text).to.equal(status);
  expect(response.headers['content-type']).to.equal('application/problem+json');
  const problem = jsonObject(response);
  expect(problem.type)
    .to.be.a('string')
    .that.satisfies((type: string) => type.startsWith(PROBLEM_TYPE_PREFIX));
  expect(problem.title).to.be.a('string').that.is.not.empty;
  expect(problem.status).to.equal(status);
  expect(problem.detail).to.be.a('string');
  expect(problem.code).to.be.a('string').that.is.not.empty;
  expect(problem.request_id).to.be.a('string').that.is.not.empty;
  expect(problem.request_id).to.equal(response.headers['x-request-id']);
  return problem;
}
