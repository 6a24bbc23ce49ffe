import type { FeatureValue, RiskBand, ScoreReason } from '@mrp/schemas';

/*
 * The mock model, a logistic regression with fixed, made-up weights:
 *
 *   z = INTERCEPT + sum of contribution(feature)        score = round4(1 / (1 + e^-z))
 *
 * A known feature is first mapped to a bounded x (clamped and scaled, see KNOWN_FEATURES) and contributes
 * weight * x. Unknown features count too, a little and deterministically: a number v contributes
 * w(name) * v / (1 + |v|), a boolean w(name) * (0 or 1), a string STRING_WEIGHT * b(name, value), where
 * w(name) in [-0.25, 0.25] and b in [-1, 1] come from a stable FNV-1a hash of the name (and the value).
 * Features are summed in name order, so key order cannot change the last bit of the score. No randomness
 * and no clock: the same features always give the same score. The reasons are the largest contributions
 * by absolute value, so a reader can see what moved the score and which way.
 */

export const MODEL_VERSION = 'mock-linear-2026.11';

/** z before any feature: a case with no features scores about 0.18 (low). */
export const INTERCEPT = -1.5;

/** Scores from `medium` (inclusive) are medium, from `high` (inclusive) are high, the rest low. */
export const RISK_THRESHOLDS = { medium: 0.4, high: 0.7 } as const;

/** At most this many reasons are returned with a score. */
export const MAX_REASONS = 3;

/** Largest absolute weight an unknown numeric or boolean feature can get from its name's hash. */
export const UNKNOWN_WEIGHT_BOUND = 0.25;

/** Weight of a string feature; its hash bucket gives the sign and size in [-1, 1]. */
export const STRING_WEIGHT = 0.2;

/** Number of hash buckets a string value falls into. */
export const STRING_BUCKETS = 8;

interface KnownFeature {
  readonly name: string;
  readonly type: 'number' | 'boolean';
  readonly weight: number;
  /** How the value is mapped to x, as a formula for the model description. */
  readonly transform: string;
  /** What the feature means, used in reasons ("<label> is <value>"). */
  readonly label: string;
  readonly normalise: (value: number) => number;
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

/** The features the model knows, with their weights; x is always in [0, 1]. */
export const KNOWN_FEATURES: readonly KnownFeature[] = [
  {
    name: 'priority_level',
    type: 'number',
    weight: 1.6,
    transform: '(clamp(v, 1, 4) - 1) / 3',
    label: 'priority level (1 lowest, 4 highest)',
    normalise: (v) => (clamp(v, 1, 4) - 1) / 3,
  },
  {
    name: 'amount',
    type: 'number',
    weight: 1.2,
    transform: 'min(log10(1 + max(v, 0)) / 6, 1)',
    label: 'amount at stake',
    normalise: (v) => Math.min(Math.log10(1 + Math.max(v, 0)) / 6, 1),
  },
  {
    name: 'prior_incidents',
    type: 'number',
    weight: 1.4,
    transform: 'clamp(v, 0, 10) / 10',
    label: 'number of prior incidents',
    normalise: (v) => clamp(v, 0, 10) / 10,
  },
  {
    name: 'is_new_customer',
    type: 'boolean',
    weight: 0.9,
    transform: '1 if true, 0 if false',
    label: 'new customer',
    normalise: (v) => v,
  },
  {
    name: 'account_age_days',
    type: 'number',
    weight: -1.0,
    transform: 'clamp(v, 0, 3650) / 3650',
    label: 'account age in days',
    normalise: (v) => clamp(v, 0, 3650) / 3650,
  },
  {
    name: 'title_length',
    type: 'number',
    weight: -0.4,
    transform: 'clamp(v, 0, 200) / 200',
    label: 'title length',
    normalise: (v) => clamp(v, 0, 200) / 200,
  },
  {
    name: 'description_length',
    type: 'number',
    weight: -0.8,
    transform: 'clamp(v, 0, 5000) / 5000',
    label: 'description length',
    normalise: (v) => clamp(v, 0, 5000) / 5000,
  },
];

const knownByName = new Map(KNOWN_FEATURES.map((feature) => [feature.name, feature]));

export interface Assessment {
  readonly score: number;
  readonly riskBand: RiskBand;
  readonly reasons: ScoreReason[];
}

/** A feature whose value does not have the type the model expects for it. */
export interface FeatureProblem {
  readonly feature: string;
  readonly message: string;
}

/** FNV-1a (32 bit) of the UTF-8 bytes: stable across processes, platforms and releases. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000 || 0;

/** The weight an unknown numeric or boolean feature gets from its name, in [-0.25, 0.25]. */
export function unknownFeatureWeight(name: string): number {
  return round4((stableHash(name) / 0xffffffff) * 2 * UNKNOWN_WEIGHT_BOUND - UNKNOWN_WEIGHT_BOUND);
}

/** Where a string value lands, in [-1, 1]: one of STRING_BUCKETS evenly spaced points. */
export function stringBucket(name: string, value: string): number {
  const bucket = stableHash(`${name}=${value}`) % STRING_BUCKETS;
  return (bucket / (STRING_BUCKETS - 1)) * 2 - 1;
}

/** The band of a (rounded) score. */
export function riskBandOf(score: number): RiskBand {
  if (score >= RISK_THRESHOLDS.high) return 'high';
  if (score >= RISK_THRESHOLDS.medium) return 'medium';
  return 'low';
}

/** Known features given a value of the wrong type; the model refuses to guess what they mean. */
export function checkFeatures(features: Readonly<Record<string, FeatureValue>>): FeatureProblem[] {
  const problems: FeatureProblem[] = [];
  for (const [name, value] of Object.entries(features)) {
    const known = knownByName.get(name);
    if (known && typeof value !== known.type) {
      problems.push({ feature: name, message: `must be a ${known.type}` });
    }
  }
  return problems;
}

function show(value: FeatureValue): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

function contributionOf(name: string, value: FeatureValue): { contribution: number; description: string } {
  const known = knownByName.get(name);
  const direction = (contribution: number) => (contribution >= 0 ? 'raises' : 'lowers');
  if (known) {
    if (typeof value !== known.type) throw new TypeError(`feature ${name} must be a ${known.type}`);
    const contribution = known.weight * known.normalise(Number(value));
    return {
      contribution,
      description: `${known.label} is ${show(value)}: ${direction(contribution)} the risk`,
    };
  }
  if (typeof value === 'string') {
    const contribution = STRING_WEIGHT * stringBucket(name, value);
    return {
      contribution,
      description: `unrecognised feature "${name}" is ${show(value)}: its hash bucket ${direction(contribution)} the risk slightly`,
    };
  }
  const x = typeof value === 'boolean' ? Number(value) : value / (1 + Math.abs(value));
  const contribution = unknownFeatureWeight(name) * x;
  return {
    contribution,
    description: `unrecognised feature "${name}" is ${show(value)}: its hashed weight ${direction(contribution)} the risk slightly`,
  };
}

/**
 * Scores a set of features (already checked with `checkFeatures`): the score in [0, 1] rounded to four
 * decimals, its risk band, and the reasons, largest absolute contribution first (ties by feature name).
 */
export function assess(features: Readonly<Record<string, FeatureValue>>): Assessment {
  const names = Object.keys(features).sort();
  let z = INTERCEPT;
  const reasons: ScoreReason[] = [];
  for (const name of names) {
    const { contribution, description } = contributionOf(name, features[name]!);
    z += contribution;
    const rounded = round4(contribution);
    if (rounded !== 0) reasons.push({ feature: name, contribution: rounded, description });
  }
  reasons.sort(
    (a, b) =>
      Math.abs(b.contribution) - Math.abs(a.contribution) ||
      (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0),
  );
  const score = round4(1 / (1 + Math.exp(-z)));
  return { score, riskBand: riskBandOf(score), reasons: reasons.slice(0, MAX_REASONS) };
}

/** The model as data, for `GET /v1/scoring/model`: what a reader needs to recompute any score. */
export interface ModelDescription {
  readonly model_version: string;
  readonly kind: 'logistic';
  readonly formula: string;
  readonly intercept: number;
  readonly risk_bands: readonly { band: RiskBand; from: number; to: number }[];
  readonly features: readonly {
    name: string;
    type: 'number' | 'boolean';
    weight: number;
    transform: string;
    meaning: string;
  }[];
  readonly unknown_features: { readonly number: string; readonly boolean: string; readonly string: string };
  readonly max_reasons: number;
}

export function describeModel(): ModelDescription {
  return {
    model_version: MODEL_VERSION,
    kind: 'logistic',
    formula: 'score = round(1 / (1 + exp(-(intercept + sum(weight * x)))), 4)',
    intercept: INTERCEPT,
    risk_bands: [
      { band: 'low', from: 0, to: RISK_THRESHOLDS.medium },
      { band: 'medium', from: RISK_THRESHOLDS.medium, to: RISK_THRESHOLDS.high },
      { band: 'high', from: RISK_THRESHOLDS.high, to: 1 },
    ],
    features: KNOWN_FEATURES.map((feature) => ({
      name: feature.name,
      type: feature.type,
      weight: feature.weight,
      transform: `x = ${feature.transform}`,
      meaning: feature.label,
    })),
    unknown_features: {
      number: `weight * v / (1 + |v|), weight in [-${UNKNOWN_WEIGHT_BOUND}, ${UNKNOWN_WEIGHT_BOUND}] from the FNV-1a hash of the name`,
      boolean: `weight * (1 if true, 0 if false), weight as for numbers`,
      string: `${STRING_WEIGHT} * b, b one of ${STRING_BUCKETS} points in [-1, 1] from the FNV-1a hash of "name=value"`,
    },
    max_reasons: MAX_REASONS,
  };
}
