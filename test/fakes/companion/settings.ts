// Fake of the companion's "settings": settingsStorage with `change` events carrying key, oldValue
// and newValue, as the Fitbit app fires them when the page writes. Writes from the companion itself
// do not echo back to it on the phone; `pageSet` is the test API for "the wearer changed this".

export interface ChangeEvent {
  key: string | null;
  oldValue: string | null;
  newValue: string | null;
}
type Listener = (e: ChangeEvent) => void;

export class FakeSettingsStorage {
  private data: { [k: string]: string } = {};
  private listeners: Listener[] = [];
  onchange: Listener | null = null;
  /** test API: every companion write, in order */
  companionWrites: { key: string; value: string | null }[] = [];

  get length(): number {
    return Object.keys(this.data).length;
  }
  key(i: number): string | null {
    const k = Object.keys(this.data)[i];
    return k === undefined ? null : k;
  }
  getItem(key: string): string | null {
    return Object.prototype.hasOwnProperty.call(this.data, key) ? this.data[key] : null;
  }
  setItem(key: string, value: string): void {
    this.data[key] = String(value);
    this.companionWrites.push({ key, value: String(value) });
  }
  removeItem(key: string): void {
    delete this.data[key];
    this.companionWrites.push({ key, value: null });
  }
  clear(): void {
    this.data = {};
  }
  addEventListener(type: string, l: Listener): void {
    if (type === "change" && this.listeners.indexOf(l) < 0) this.listeners.push(l);
  }
  removeEventListener(type: string, l: Listener): void {
    const i = this.listeners.indexOf(l);
    if (type === "change" && i >= 0) this.listeners.splice(i, 1);
  }

  /** test API: the settings page writes a value (null removes it); listeners hear a change */
  pageSet(key: string, value: string | null): void {
    const oldValue = this.getItem(key);
    if (value === null) delete this.data[key];
    else this.data[key] = value;
    const e = { key, oldValue, newValue: value };
    for (const l of this.listeners.slice()) l(e);
    if (this.onchange) this.onchange(e);
  }
  /** test API: the page writes while the companion is not running (no event) */
  pageSetQuietly(key: string, value: string | null): void {
    if (value === null) delete this.data[key];
    else this.data[key] = value;
  }
  /** test API: a parsed companion-written JSON value */
  json(key: string): any {
    const v = this.getItem(key);
    return v === null ? null : JSON.parse(v);
  }
}

export function createSettingsStorage(): FakeSettingsStorage {
  return new FakeSettingsStorage();
}

export const settingsStorage = new FakeSettingsStorage();
