import { expect } from 'chai';
import type { Problem } from '@mrp/schemas';
import { contract, type HttpResult } from './http.ts';

/** Asserts an RFC 9457 problem answer with this status, carrying the response's request ID. */
export function expectProblem(result: HttpResult, status: number, code?: string): Problem {
  expect(result.status, result.text).to.equal(status);
  expect(result.headers.get('content-type')).to.match(/^application\/problem\+json/);
  const problem = contract('Problem', result.body);
  expect(problem.status).to.equal(status);
  expect(problem.title).to.be.a('string').and.not.empty;
  expect(problem.type).to.be.a('string').and.not.empty;
  const requestId = result.headers.get('x-request-id');
  expect(requestId, 'x-request-id header').to.be.a('string').and.not.empty;
  expect(problem.request_id).to.equal(requestId);
  if (code) expect(problem.code).to.equal(code);
  return problem;
}
