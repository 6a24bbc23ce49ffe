// An example for credentials.yml (semgrep --test .semgrep); never compiled or run.
export function weakCode(): string {
  // ruleid: insecure-random-in-credentials
  return Math.random().toString(36).slice(2);
}
