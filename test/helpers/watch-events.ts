// A tiny event target for the Fitbit host-module fakes: addEventListener plus `on<name>` handlers.
export interface FakeTarget {
  addEventListener: (name: string, fn: (evt: any) => void) => void;
  removeEventListener: (name: string, fn: (evt: any) => void) => void;
  [k: string]: any;
}

export function makeTarget<T extends object>(obj: T): T & FakeTarget & { __emit: (name: string, evt?: any) => void; __clear: () => void } {
  let listeners: { [name: string]: ((evt: any) => void)[] } = {};
  const target = obj as T & FakeTarget & { __emit: (name: string, evt?: any) => void; __clear: () => void };
  Object.defineProperty(target, "addEventListener", {
    enumerable: false,
    value: (name: string, fn: (evt: any) => void) => {
      (listeners[name] = listeners[name] || []).push(fn);
    },
  });
  Object.defineProperty(target, "removeEventListener", {
    enumerable: false,
    value: (name: string, fn: (evt: any) => void) => {
      const l = listeners[name] || [];
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
    },
  });
  Object.defineProperty(target, "__emit", {
    enumerable: false,
    value: (name: string, evt?: any) => {
      const e = Object.assign({ type: name, target }, evt || {});
      for (const fn of (listeners[name] || []).slice()) fn(e);
      const h = (target as any)["on" + name];
      if (typeof h === "function") h(e);
    },
  });
  Object.defineProperty(target, "__clear", {
    enumerable: false,
    value: () => {
      listeners = {};
      for (const k of Object.keys(target)) if (k.startsWith("on")) (target as any)[k] = undefined;
    },
  });
  return target;
}
