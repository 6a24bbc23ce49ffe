/** The two measured scenarios through the gateway: the cheapest authenticated read, and case creation. */
import { randomUUID } from 'node:crypto';
import type { LoadPlan } from './load.ts';
import { DURATION_S } from './settings.ts';

/** The baseline: one page of one case, with the viewer's token. */
export function readPlan(gateway: string, viewerToken: string): LoadPlan {
  return {
    scenario: 'GET /v1/cases?limit=1',
    url: `${gateway}/v1/cases?limit=1`,
    durationS: DURATION_S,
    options: { headers: { authorization: `Bearer ${viewerToken}` } },
    request: { method: 'GET' },
  };
}

/** What the create scenario's 2xx answers said: each created case's id and created_at (ms). */
export interface Creations {
  readonly created: Map<string, number>;
  /** 2xx bodies without an id or created_at, cut short. */
  readonly malformed: string[];
}

function recordCreation(creations: Creations, body: string): void {
  try {
    const record = JSON.parse(body) as { id?: unknown; created_at?: unknown };
    if (typeof record.id === 'string' && typeof record.created_at === 'string')
      creations.created.set(record.id, Date.parse(record.created_at));
    else creations.malformed.push(body.slice(0, 200));
  } catch {
    creations.malformed.push(body.slice(0, 200));
  }
}

/** Case creation with the analyst's token; every 2xx answer is recorded in `creations`. */
export function createPlan(
  gateway: string,
  analystToken: string,
  ownerId: string,
  creations: Creations,
): LoadPlan {
  return {
    scenario: 'POST /v1/cases',
    url: `${gateway}/v1/cases`,
    durationS: DURATION_S,
    options: {
      method: 'POST',
      headers: { authorization: `Bearer ${analystToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Bench', owner_id: ownerId }),
    },
    request: {
      method: 'POST',
      // A fresh Idempotency-Key per request: each one is a new case, never a replay.
      setupRequest: (request) => ({
        ...request,
        headers: { ...request.headers, 'idempotency-key': randomUUID() },
      }),
    },
    onSuccess: (body) => {
      recordCreation(creations, body);
    },
  };
}

/**
 * The overload: the baseline's read at `factor` times the req/s the baseline got (an open-loop rate over
 * more connections than a service admits at once), for the scenario's duration.
 */
export function overloadPlan(
  read: LoadPlan,
  baselineRps: number,
  factor: number,
  connections: number,
): LoadPlan {
  return {
    ...read,
    scenario: `${read.scenario} at ${factor}x the baseline`,
    connections,
    rate: Math.max(1, Math.round(baselineRps * factor)),
  };
}

/** The baseline's read again, briefly and at the baseline's connections: is the platform back to normal? */
export function recoveryPlan(read: LoadPlan, durationS: number): LoadPlan {
  return { ...read, scenario: `${read.scenario} after the overload`, durationS };
}
