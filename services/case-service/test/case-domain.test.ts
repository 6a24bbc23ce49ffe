import { expect } from 'chai';
import { nextStatus, scoringFeatures, type CaseRecord, type CaseStatus } from '../src/domain/case.ts';
import { requestHash } from '../src/domain/case.use-cases.ts';

const buildCase = (overrides: Partial<CaseRecord> = {}): CaseRecord => ({
  id: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
  title: 'Card testing',
  description: 'Many small charges',
  ownerId: '6f1c1d1e-0000-4000-8000-000000000000',
  status: 'SCORED',
  priority: 'high',
  features: { amount: 3100, segment: 'smb' },
  score: {
    value: 0.7,
    riskBand: 'high',
    modelVersion: 'mock-v1',
    reasons: [],
    scoredAt: new Date('2026-01-01T00:00:00Z'),
  },
  createdBy: '6f1c1d1e-0000-4000-8000-000000000001',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  createdAtKey: '2026-01-01 00:00:00+00',
  ...overrides,
});

describe('case rules (the domain, without a database)', () => {
  describe('status changes a client may ask for', () => {
    for (const status of ['OPEN', 'PENDING_SCORE', 'SCORED'] satisfies CaseStatus[]) {
      it(`closes a ${status} case, and refuses to reopen one that is not closed`, () => {
        expect(nextStatus(buildCase({ status }), 'CLOSED')).to.equal('CLOSED');
        expect(nextStatus(buildCase({ status }), 'OPEN')).to.equal('invalid');
      });
    }

    it('refuses to close a closed case', () => {
      expect(nextStatus(buildCase({ status: 'CLOSED' }), 'CLOSED')).to.equal('invalid');
    });

    it('reopens a closed case to SCORED when it has a score, to PENDING_SCORE (to be scored) when it has none', () => {
      expect(nextStatus(buildCase({ status: 'CLOSED' }), 'OPEN')).to.equal('SCORED');
      expect(nextStatus(buildCase({ status: 'CLOSED', score: null }), 'OPEN')).to.equal('PENDING_SCORE');
    });
  });

  describe('what the scoring model is asked', () => {
    it('adds the derived features to those given at creation', () => {
      expect(scoringFeatures(buildCase())).to.deep.equal({
        amount: 3100,
        segment: 'smb',
        priority_level: 3,
        title_length: 12,
        description_length: 18,
      });
    });

    it('derives the features last, so a client cannot set priority_level itself', () => {
      const features = scoringFeatures(
        buildCase({ priority: 'low', features: { priority_level: 99 }, description: null }),
      );
      expect(features).to.include({ priority_level: 1, description_length: 0 });
    });
  });

  describe('the fingerprint of a create (Idempotency-Key replays)', () => {
    it('is the same for the same body whatever the order of its keys, nested ones included', () => {
      expect(requestHash('v2', { title: 'a', features: { x: 1, y: 2 }, priority: 'low' })).to.equal(
        requestHash('v2', { priority: 'low', features: { y: 2, x: 1 }, title: 'a' }),
      );
    });

    it('differs for another body, another API version, or another order inside an array', () => {
      const hash = requestHash('v2', { title: 'a', tags: [1, 2] });
      expect(requestHash('v2', { title: 'b', tags: [1, 2] })).to.not.equal(hash);
      expect(requestHash('v1', { title: 'a', tags: [1, 2] })).to.not.equal(hash);
      expect(requestHash('v2', { title: 'a', tags: [2, 1] })).to.not.equal(hash);
    });
  });
});
