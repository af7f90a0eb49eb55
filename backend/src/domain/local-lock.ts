// One at a time per key within this process: a promise chain per key, dropped once it is idle.
// (Across processes the callers also lock in the database; this keeps one process from racing itself.)

export type LocalLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function createLocalLock(): LocalLock {
  const chains = new Map<string, Promise<unknown>>();
  return async function withLocalLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = chains.get(key) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(fn);
    chains.set(key, mine);
    try {
      return await mine;
    } finally {
      if (chains.get(key) === mine) chains.delete(key);
    }
  };
}
