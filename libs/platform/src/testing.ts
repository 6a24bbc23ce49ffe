/**
 * Helpers for the repository's tests (`@mrp/platform/testing`), shared so that every test polls the same
 * way. Never imported by a service.
 */

/** Polls until `check` passes or the attempts run out: bounded, and no timing is asserted. */
export async function eventually(
  check: () => Promise<void> | void,
  attempts = 75,
  intervalMs = 200,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await check();
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
