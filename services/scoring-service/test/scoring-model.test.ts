import { expect } from 'chai';
import { getValidator, type FeatureValue } from '@mrp/schemas';
import {
  assess,
  checkFeatures,
  describeModel,
  INTERCEPT,
  KNOWN_FEATURES,
  MAX_REASONS,
  MODEL_VERSION,
  riskBandOf,
  RISK_THRESHOLDS,
  stableHash,
  STRING_WEIGHT,
  stringBucket,
  UNKNOWN_WEIGHT_BOUND,
  unknownFeatureWeight,
} from '../src/domain/scoring-model.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

/** A small seeded PRNG (mulberry32), so the generated inputs are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Features as a client could send them: known ones with their types, unknown ones of every kind. */
function generateFeatures(random: () => number): Record<string, FeatureValue> {
  const features: Record<string, FeatureValue> = {};
  const count = Math.floor(random() * 51);
  const magnitudes = [1, 10, 1e3, 1e6, 1e12, 1e300];
  for (let index = 0; index < count; index += 1) {
    const pick = random();
    if (pick < 0.4) {
      const known = KNOWN_FEATURES[Math.floor(random() * KNOWN_FEATURES.length)]!;
      features[known.name] =
        known.type === 'boolean'
          ? random() < 0.5
          : (random() * 2 - 0.5) * magnitudes[Math.floor(random() * magnitudes.length)]!;
    } else {
      const name = `f_${Math.floor(random() * 1e6).toString(36)}`;
      const kind = random();
      features[name] =
        kind < 0.4
          ? (random() * 2 - 1) * magnitudes[Math.floor(random() * magnitudes.length)]!
          : kind < 0.7
            ? random() < 0.5
            : 'x'.repeat(Math.floor(random() * 500)) + String(random());
    }
  }
  return features;
}

function shuffledKeys(features: Record<string, FeatureValue>, random: () => number) {
  const entries = Object.entries(features);
  for (let index = entries.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [entries[index], entries[other]] = [entries[other]!, entries[index]!];
  }
  return Object.fromEntries(entries);
}

describe('scoring model', () => {
  it('scores an empty feature set from the intercept alone, with no reasons', () => {
    const result = assess({});
    expect(result.score).to.equal(round4(sigmoid(INTERCEPT)));
    expect(result.riskBand).to.equal('low');
    expect(result.reasons).to.deep.equal([]);
  });

  it('adds weight * x for known features and explains the three largest', () => {
    const result = assess({ priority_level: 4, prior_incidents: 10, amount: 999_999, is_new_customer: true });
    // x is 1 for each: z = -1.5 + 1.6 + 1.4 + 1.2 + 0.9
    expect(result.score).to.equal(round4(sigmoid(-1.5 + 1.6 + 1.4 + 1.2 + 0.9)));
    expect(result.riskBand).to.equal('high');
    expect(result.reasons.map((reason) => [reason.feature, reason.contribution])).to.deep.equal([
      ['priority_level', 1.6],
      ['prior_incidents', 1.4],
      ['amount', 1.2],
    ]);
    expect(result.reasons[0]!.description).to.match(/priority level.*is 4: raises the risk/);
  });

  it('reports features that lower the risk with a negative contribution', () => {
    const result = assess({ description_length: 5000, account_age_days: 3650, priority_level: 1 });
    expect(result.reasons.map((reason) => [reason.feature, reason.contribution])).to.deep.equal([
      ['account_age_days', -1],
      ['description_length', -0.8],
    ]);
    expect(result.reasons[0]!.description).to.include('lowers the risk');
    expect(result.score).to.equal(round4(sigmoid(-1.5 - 1 - 0.8)));
  });

  it('clamps known features to their range', () => {
    expect(assess({ priority_level: 400 }).score).to.equal(assess({ priority_level: 4 }).score);
    expect(assess({ priority_level: -3 }).score).to.equal(assess({ priority_level: 1 }).score);
    expect(assess({ amount: -50 }).score).to.equal(assess({}).score);
    expect(assess({ prior_incidents: 1e300 }).score).to.equal(assess({ prior_incidents: 10 }).score);
  });

  it('puts scores into bands at the documented thresholds', () => {
    expect(riskBandOf(0)).to.equal('low');
    expect(riskBandOf(RISK_THRESHOLDS.medium - 0.0001)).to.equal('low');
    expect(riskBandOf(RISK_THRESHOLDS.medium)).to.equal('medium');
    expect(riskBandOf(RISK_THRESHOLDS.high - 0.0001)).to.equal('medium');
    expect(riskBandOf(RISK_THRESHOLDS.high)).to.equal('high');
    expect(riskBandOf(1)).to.equal('high');
  });

  it('hashes with FNV-1a, so weights are stable across processes and releases', () => {
    expect(stableHash('')).to.equal(0x811c9dc5);
    expect(stableHash('a')).to.equal(0xe40c292c);
    expect(stableHash('foobar')).to.equal(0xbf9cf968);
  });

  describe('unknown features', () => {
    it('give a number a small weight from the hash of its name, bounded whatever the value', () => {
      const weight = unknownFeatureWeight('customer_segment_score');
      expect(Math.abs(weight)).to.be.at.most(UNKNOWN_WEIGHT_BOUND);
      expect(weight).to.not.equal(0);
      const huge = assess({ customer_segment_score: 1e300 });
      expect(huge.reasons).to.have.length(1);
      expect(huge.reasons[0]!.contribution).to.be.closeTo(weight, 0.0001);
      expect(huge.reasons[0]!.description).to.include('unrecognised feature "customer_segment_score"');
      expect(assess({ customer_segment_score: 1 }).reasons[0]!.contribution).to.equal(round4(weight / 2));
    });

    it('give different names different weights', () => {
      const weights = new Set(['a_one', 'a_two', 'a_three', 'a_four'].map(unknownFeatureWeight));
      expect(weights.size).to.equal(4);
    });

    it('count a boolean as 1 or 0 times the hashed weight', () => {
      expect(assess({ has_vip_flag: false }).reasons).to.deep.equal([]);
      expect(assess({ has_vip_flag: true }).reasons[0]!.contribution).to.equal(
        unknownFeatureWeight('has_vip_flag'),
      );
    });

    it('put a string into a stable hash bucket in [-1, 1] times the string weight', () => {
      const buckets = new Set<number>();
      for (let index = 0; index < 200; index += 1) {
        const bucket = stringBucket('channel', `value-${index}`);
        expect(bucket).to.be.within(-1, 1);
        buckets.add(bucket);
      }
      expect(buckets.size).to.equal(8);
      const contribution = assess({ channel: 'web' }).reasons[0]?.contribution ?? 0;
      expect(contribution).to.equal(round4(STRING_WEIGHT * stringBucket('channel', 'web')));
    });
  });

  it('orders equal contributions by feature name, whatever the input order', () => {
    // Find two names whose value "same" lands in the same non-zero bucket: equal contributions.
    const byBucket = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let index = 0; !pair; index += 1) {
      const name = `tie_${index}`;
      const bucket = stringBucket(name, 'same');
      const seen = byBucket.get(bucket);
      if (seen && bucket !== 0) pair = [seen, name];
      else byBucket.set(bucket, name);
    }
    const [first, second] = pair.sort();
    for (const features of [
      { [first]: 'same', [second]: 'same' },
      { [second]: 'same', [first]: 'same' },
    ]) {
      expect(assess(features).reasons.map((reason) => reason.feature)).to.deep.equal([first, second]);
    }
  });

  it('refuses known features of the wrong type and accepts anything for unknown ones', () => {
    expect(
      checkFeatures({ priority_level: 'high', is_new_customer: 1, anything: 'x', other: true }),
    ).to.deep.equal([
      { feature: 'priority_level', message: 'must be a number' },
      { feature: 'is_new_customer', message: 'must be a boolean' },
    ]);
    expect(checkFeatures({ priority_level: 2, is_new_customer: false })).to.deep.equal([]);
  });

  it('describes itself: version, intercept, every known feature and its weight', () => {
    const model = describeModel();
    expect(model.model_version).to.equal(MODEL_VERSION);
    expect(model.intercept).to.equal(INTERCEPT);
    expect(model.max_reasons).to.equal(MAX_REASONS);
    expect(model.features.map((feature) => [feature.name, feature.weight])).to.deep.equal(
      KNOWN_FEATURES.map((feature) => [feature.name, feature.weight]),
    );
    expect(model.risk_bands.map((band) => band.band)).to.deep.equal(['low', 'medium', 'high']);
  });

  describe('properties over 3000 generated inputs', () => {
    const random = seeded(20261124);
    const inputs = Array.from({ length: 3000 }, () => generateFeatures(random));
    const validateResult = getValidator('ScoreResult');

    it('are deterministic: the same features, in any key order, give the same result', () => {
      for (const features of inputs) {
        const first = assess(features);
        expect(assess(structuredClone(features))).to.deep.equal(first);
        expect(assess(shuffledKeys(features, random))).to.deep.equal(first);
      }
    });

    it('stay in [0, 1] with four decimals, in the band of the score, and match the contract', () => {
      for (const features of inputs) {
        const result = assess(features);
        expect(result.score).to.be.within(0, 1);
        expect(round4(result.score)).to.equal(result.score);
        expect(result.riskBand).to.equal(riskBandOf(result.score));
        const body = {
          case_id: '5f0c2d8e-8a41-4a7e-9d0b-2f1c3e4d5a6b',
          score: result.score,
          risk_band: result.riskBand,
          model_version: MODEL_VERSION,
          reasons: result.reasons,
          scored_at: new Date(0).toISOString(),
        };
        expect(validateResult(body), JSON.stringify(validateResult.errors)).to.equal(true);
      }
    });

    it('give at most three reasons, about input features, largest absolute contribution first', () => {
      let sawThree = false;
      for (const features of inputs) {
        const { reasons } = assess(features);
        expect(reasons.length).to.be.at.most(MAX_REASONS);
        sawThree ||= reasons.length === MAX_REASONS;
        for (const reason of reasons) {
          expect(features).to.have.property(reason.feature);
          expect(reason.contribution).to.not.equal(0);
          expect(reason.description).to.be.a('string').and.not.empty;
        }
        for (let index = 1; index < reasons.length; index += 1) {
          expect(Math.abs(reasons[index - 1]!.contribution)).to.be.at.least(
            Math.abs(reasons[index]!.contribution),
          );
        }
      }
      expect(sawThree, 'the generator produces inputs with many contributing features').to.equal(true);
    });

    it('never lower the score when the priority level rises', () => {
      for (const features of inputs.slice(0, 500)) {
        let previous = -1;
        for (const level of [1, 2, 3, 4]) {
          const score = assess({ ...features, priority_level: level }).score;
          expect(score).to.be.at.least(previous);
          previous = score;
        }
      }
    });
  });
});
