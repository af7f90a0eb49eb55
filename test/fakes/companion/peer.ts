// Fake of "peer": the phone's view of the watch; tests set batteryLevel and lastSyncTime.

export class FakePeerDevice {
  batteryLevel: "empty" | "low" | "medium" | "high" | "unknown" | number = "high";
  lastSyncTime: Date = new Date(0);
  modelId = "36";
  modelName = "Versa 3";
  type = "WATCH";
  screen = { width: 336, height: 336 };
}

export class FakePeerApp {
  readyState: "started" | "stopped" | "unknown" = "started";
  addEventListener(): void {}
  removeEventListener(): void {}
}

export function createPeerDevice(): FakePeerDevice {
  return new FakePeerDevice();
}

export const device = new FakePeerDevice();
export const app = new FakePeerApp();
