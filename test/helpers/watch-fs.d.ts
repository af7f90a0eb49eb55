// "fs" is both a Node module (@types/node declares it) and a Fitbit device module (faked in
// test/fakes/device/fs.ts, which vitest aliases). Ambient declarations beat `paths`, so these
// overloads merge the device API and the fake's test API into the type the tests see.
declare module "fs" {
  export function readFileSync(name: string, encoding: "cbor" | "json"): any;
  export function writeFileSync(name: string, data: unknown, encoding: "cbor" | "json"): void;
  export function __reset(): void;
  export function __files(): string[];
  export function __raw(name: string): any;
  export function __corrupt(name: string): void;
  export function __writeCount(): number;
}
