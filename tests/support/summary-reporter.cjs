// mocha's spec reporter plus one closing line in the form "mocha: N passed, N failed, N skipped",
// which CI reads to know how many tests ran. It also keeps a leaked handle (a socket or timer a test
// forgot to close) from holding the run open forever: if the process is still alive a while after the
// last test, it lists what is keeping it alive and exits with the run's result.
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;
const GRACE_MS = 15_000;

function describeHandle(handle) {
  const name = handle?.constructor?.name ?? typeof handle;
  if (name === 'Socket')
    return `Socket ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
  if (name === 'Server') return `Server ${JSON.stringify(handle.address())}`;
  if (name === 'ChildProcess') return `ChildProcess ${handle.spawnargs?.join(' ')}`;
  return name;
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`\nmocha: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
      setTimeout(() => {
        process.stderr.write(
          `[mocha] still running ${GRACE_MS / 1000} s after the last test; open handles:\n`,
        );
        for (const handle of process._getActiveHandles())
          process.stderr.write(`  ${describeHandle(handle)}\n`);
        process.exit(failures > 0 ? 1 : 0);
      }, GRACE_MS).unref();
    });
  }
}

module.exports = SummaryReporter;
