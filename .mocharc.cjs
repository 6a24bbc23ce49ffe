// One mocha run covers unit, integration and end-to-end tests; MOCHA_SPEC narrows it (see Makefile).
const spec = process.env.MOCHA_SPEC
  ? process.env.MOCHA_SPEC.split(' ')
  : [
      'libs/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'envoy/test/**/*.test.ts',
      'tests/integration/**/*.test.ts',
      'tests/e2e/**/*.test.ts',
      'tests/packaging/**/*.test.ts',
    ];

module.exports = {
  spec,
  extension: ['ts'],
  timeout: 30000,
  slow: 2000,
  reporter: './tests/support/summary-reporter.cjs',
  'forbid-only': true,
  'forbid-pending': true,
  exit: false,
};
