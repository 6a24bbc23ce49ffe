// The benchmark's CPU profile summary (scripts/bench/profile-summary.ts), fed a small hand-made profile:
// each sample is classified by the first frame from its leaf up that belongs to a category, and only the
// samples inside the window count. Pure logic, no infrastructure.
import { expect } from 'chai';

// scripts/ is a TypeScript project of its own whose output layout differs from tests/', and tsc refuses
// any import between the two (TS2878, even a type-only one). So the module is loaded at run time, and the
// few shapes this test uses are written out here (the assertions fail if they drift).
interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}
interface WindowSummary {
  readonly samples: number;
  readonly busy_pct: number;
  readonly covered: boolean;
  readonly pct: Readonly<Record<string, number>>;
  readonly top_other: readonly { function: string; where: string; pct: number }[];
}
interface ProfileSummaryModule {
  readonly frameCategory: (frame: CallFrame) => string | undefined;
  readonly summariseWindow: (
    profile: CpuProfile,
    window: { name: string; fromUs: number; toUs: number },
    root?: string,
  ) => WindowSummary;
}

const summaryModule = new URL('../../scripts/bench/profile-summary.ts', import.meta.url).href;
const { frameCategory, summariseWindow } = (await import(summaryModule)) as ProfileSummaryModule;

const ROOT = 'file:///repo/';
const modules = (path: string) => `file:///repo/node_modules/${path}`;

function node(id: number, functionName: string, url: string, children: number[] = []): CpuProfileNode {
  return { id, callFrame: { functionName, url, lineNumber: 9 }, children };
}

// (root)
//   (program) (idle) (garbage collector)
//   parserOnIncoming [node:_http_server]
//     dispatch [koa-compose]
//       authenticate [services/case-service]
//         jwtVerify [jose] -> (anonymous native)
//       validate12 [ajv's compiled code: no URL]
//       handler [services/case-service] -> JSON.stringify [native]
//   query [pg-pool] -> wrapped [@opentelemetry] -> parse [pg-protocol]
//   write [pino] -> writeSync [sonic-boom]
//   collect [prom-client]
//   runMicrotasks -> continuation [services/case-service] -> toRow [services/case-service]
const NODES: CpuProfileNode[] = [
  node(1, '(root)', '', [2, 3, 4, 5, 13, 16, 18, 19]),
  node(2, '(program)', ''),
  node(3, '(idle)', ''),
  node(4, '(garbage collector)', ''),
  node(5, 'parserOnIncoming', 'node:_http_server', [6]),
  node(6, 'dispatch', modules('koa-compose/index.js'), [7, 10, 11]),
  node(7, 'authenticate', 'file:///repo/services/case-service/src/auth.ts', [8]),
  node(8, 'jwtVerify', modules('jose/dist/webapi/jwt/verify.js'), [9]),
  node(9, '', ''),
  node(10, 'validate12', ''),
  node(11, 'handler', 'file:///repo/services/case-service/src/routes.ts', [12]),
  node(12, 'stringify', ''),
  node(13, 'query', modules('pg-pool/index.js'), [14]),
  node(14, 'wrapped', modules('@opentelemetry/instrumentation-pg/build/src/instrumentation.js'), [15]),
  node(15, 'parse', modules('pg-protocol/dist/parser.js')),
  node(16, 'write', modules('pino/lib/proto.js'), [17]),
  node(17, 'writeSync', modules('sonic-boom/index.js')),
  node(18, 'collect', modules('prom-client/lib/histogram.js')),
  node(19, 'runMicrotasks', '', [20]),
  node(20, 'continuation', 'file:///repo/services/case-service/src/cases.ts', [21]),
  node(21, 'toRow', 'file:///repo/services/case-service/src/cases.ts'),
];

/** One sample per leaf id, 1 ms apart from t = 1000 µs: sample i is at 1000 + 1000 * (i + 1) µs. */
function profileOf(leaves: number[]): CpuProfile {
  return {
    nodes: NODES,
    startTime: 1000,
    endTime: 1000 + 1000 * (leaves.length + 1),
    samples: leaves,
    timeDeltas: leaves.map(() => 1000),
  };
}

describe('the benchmark CPU profile summary', () => {
  it('classifies a frame by its script URL or function name', () => {
    expect(frameCategory({ functionName: '(idle)', url: '', lineNumber: -1 })).to.equal('idle');
    expect(frameCategory({ functionName: '(garbage collector)', url: '', lineNumber: -1 })).to.equal('gc');
    expect(frameCategory({ functionName: 'x', url: 'node:internal/crypto/sig', lineNumber: 0 })).to.equal(
      'jwt',
    );
    expect(frameCategory({ functionName: 'x', url: modules('pg/lib/client.js'), lineNumber: 0 })).to.equal(
      'postgres',
    );
    expect(
      frameCategory({ functionName: 'x', url: modules('@koa/router/lib/router.js'), lineNumber: 0 }),
    ).to.equal('framework');
    expect(
      frameCategory({ functionName: 'x', url: modules('thread-stream/index.js'), lineNumber: 0 }),
    ).to.equal('logging');
    expect(
      frameCategory({ functionName: 'x', url: 'file:///repo/libs/schemas/src/validate.ts', lineNumber: 0 }),
    ).to.equal('validation');
    expect(frameCategory({ functionName: '(program)', url: '', lineNumber: -1 })).to.be.undefined;
    expect(frameCategory({ functionName: 'handler', url: 'file:///repo/services/x/src/a.ts', lineNumber: 0 }))
      .to.be.undefined;
  });

  it('gives each sample the category of the first frame from its leaf up that has one', () => {
    // jose's native leaf, ajv, JSON.stringify under a handler under koa-compose, pg under OTel under pg-pool,
    // sonic-boom, prom-client, GC, idle, (program), and a continuation with no categorised frame at all.
    const profile = profileOf([9, 10, 12, 15, 14, 17, 18, 4, 3, 2, 21, 21]);
    const summary = summariseWindow(profile, {
      name: 'all',
      fromUs: profile.startTime,
      toUs: profile.endTime,
    });
    expect(summary.samples).to.equal(12);
    expect(summary.pct).to.deep.equal({
      jwt: 8.3,
      validation: 8.3,
      postgres: 8.3,
      tracing: 8.3,
      logging: 8.3,
      metrics: 8.3,
      framework: 8.3,
      gc: 8.3,
      idle: 8.3,
      other: 25,
    });
    expect(summary.busy_pct).to.equal(91.7);
    expect(summary.covered).to.be.true;
  });

  it('counts only the samples inside the window', () => {
    // Samples at 2000, 3000, 4000, 5000 and 6000 µs: the window [3000, 5000) holds the 2nd and 3rd.
    const summary = summariseWindow(profileOf([3, 15, 15, 3, 3]), { name: 'load', fromUs: 3000, toUs: 5000 });
    expect(summary.samples).to.equal(2);
    expect(summary.pct.postgres).to.equal(100);
    expect(summary.pct.idle).to.equal(0);
    expect(summary.busy_pct).to.equal(100);
  });

  it('says when the profile does not cover the window, or the window holds no sample', () => {
    const summary = summariseWindow(profileOf([3, 3]), { name: 'late', fromUs: 10_000, toUs: 20_000 });
    expect(summary.covered).to.be.false;
    expect(summary.samples).to.equal(0);
    expect(summary.busy_pct).to.equal(0);
    expect(summary.top_other).to.deep.equal([]);
  });

  it('names the top "other" leaf functions, relative to the repository', () => {
    const summary = summariseWindow(
      profileOf([21, 21, 21, 2, 20, 3]),
      { name: 'w', fromUs: 0, toUs: 1e6 },
      ROOT,
    );
    expect(summary.top_other).to.deep.equal([
      { function: 'toRow', where: 'services/case-service/src/cases.ts:10', pct: 50 },
      { function: '(program)', where: '', pct: 16.7 },
      { function: 'continuation', where: 'services/case-service/src/cases.ts:10', pct: 16.7 },
    ]);
  });
});
