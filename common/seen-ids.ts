// Remembers recently seen message ids so a resent message is handled once. Storage passed in.
// Pure: imports nothing.

export interface SeenIds {
  /** true the first time an id is offered, false for a repeat; remembers it either way */
  firstTime: (id: string) => boolean;
  has: (id: string) => boolean;
}

export function createSeenIds(opts: {
  load?: () => string[] | null | undefined;
  save?: (ids: string[]) => void;
  max: number;
}): SeenIds {
  let ids: string[] = [];
  try {
    const got = opts.load ? opts.load() : null;
    if (got instanceof Array) for (let i = 0; i < got.length; i++) if (typeof got[i] === "string") ids.push(got[i]);
  } catch (e) {
    ids = [];
  }
  return {
    firstTime: function (id) {
      if (ids.indexOf(id) >= 0) return false;
      ids.push(id);
      while (ids.length > opts.max) ids.shift();
      if (opts.save) opts.save(ids.slice());
      return true;
    },
    has: function (id) {
      return ids.indexOf(id) >= 0;
    },
  };
}
