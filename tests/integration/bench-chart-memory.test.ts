// The benchmark's reading of the charts' memory settings (scripts/bench/chart-memory.ts): the limit and
// the heap cap it starts each service with must be the ones mrp-lib renders. Pure logic over the
// repository's own values.yaml files, no infrastructure.
import { expect } from 'chai';

// Loaded at run time for the reason given in bench-profile-summary.test.ts (TS2878 between projects).
interface ChartMemoryModule {
  readonly quantityBytes: (quantity: string) => number | undefined;
  readonly chartMemory: (service: string) => { limitMiB: number; heapMiB: number } | undefined;
  readonly chartHeapFlags: (
    services: readonly string[],
    extra?: Readonly<Record<string, string>>,
  ) => Record<string, string>;
}
const chartMemoryModule = new URL('../../scripts/bench/chart-memory.ts', import.meta.url).href;
const { quantityBytes, chartMemory, chartHeapFlags } = (await import(chartMemoryModule)) as ChartMemoryModule;

describe("make bench: the charts' memory settings", () => {
  it('reads Kubernetes quantities as mrp-lib does, and refuses the forms it refuses', () => {
    expect(quantityBytes('256Mi')).to.equal(256 * 1024 ** 2);
    expect(quantityBytes('1.5Gi')).to.equal(1.5 * 1024 ** 3);
    expect(quantityBytes('300M')).to.equal(300e6);
    expect(quantityBytes('1048576')).to.equal(1048576);
    for (const bad of ['256MB', '256 Mi', '-1Mi', 'Mi', ''])
      expect(quantityBytes(bad), bad).to.equal(undefined);
  });

  it("computes each service's heap cap from its chart's limit and heapPercentOfLimit, rounded down", () => {
    const memory = chartMemory('case-service')!;
    expect(memory.limitMiB).to.be.greaterThan(0);
    expect(memory.heapMiB).to.be.greaterThan(16).and.lessThan(memory.limitMiB);
    const flags = chartHeapFlags(['case-service', 'auth-service'], {
      DEV_NODE_FLAGS_CASE_SERVICE: '--cpu-prof',
    });
    expect(flags.DEV_NODE_FLAGS_CASE_SERVICE).to.equal(`--max-old-space-size=${memory.heapMiB} --cpu-prof`);
    expect(flags.DEV_NODE_FLAGS_AUTH_SERVICE).to.equal(
      `--max-old-space-size=${chartMemory('auth-service')!.heapMiB}`,
    );
  });
});
