export { runCli, type CliDeps } from './cli.ts';
export {
  parseCommandLine,
  parseDuration,
  UsageError,
  USAGE,
  type CommandLine,
  type Env,
  type GlobalOptions,
} from './cli-args.ts';
export { EXIT, interruptedExitCode } from './exit-codes.ts';
export {
  PASSWORD_ENV,
  passwordFromStdin,
  passwordSource,
  readAll,
  resolvePassword,
  type PasswordSource,
} from './password.ts';
export { usageErrorLines } from './usage-error.ts';
export { readVersion } from './version.ts';
export { waitForRelease, type WaitOptions } from './commands/wait.command.ts';
export { portForwardGateway, type PortForwardOptions } from './commands/port-forward.command.ts';
export { smokeTest, type SmokeOptions } from './commands/smoke.command.ts';
export { requestLogs, type LogsOptions } from './commands/logs.command.ts';
export {
  describeKubeError,
  gatewaySelector,
  LABELS,
  platformSelector,
  releaseSelector,
  resolveTarget,
  type KubeTarget,
} from './kube.ts';
export { findGatewayPod, GATEWAY_PORT, startPortForward, type RunningForward } from './port-forwarder.ts';
export {
  formatStep,
  formatSummary,
  runSeedFlow,
  STEPS,
  type Answer,
  type SeedFlowOptions,
  type StepResult,
} from './seed-flow.ts';
export { entryWidths, formatEntry, mergeByTime, requestEntries, type LogEntry } from './log-lines.ts';
export type { CommandIo, Writer } from './output.ts';
