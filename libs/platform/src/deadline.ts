/**
 * The repository's one deadline: a promise raced against a timer that never outlives the race (a timer
 * left behind keeps a process alive at shutdown, or fires into a finished operation).
 */

/** `work`'s result, or a rejection with `message` once `ms` have passed, whichever comes first. */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message: string | (() => string),
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(typeof message === 'string' ? message : message()));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `work` at most `ms` and never fails for the time (nor for `work`'s own error): true when it
 * settled in time, false when time ran out. For shutdown steps that must not hold the exit.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([
      settled,
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
