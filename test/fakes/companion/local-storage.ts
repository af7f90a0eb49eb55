// Fake of the companion's "local-storage": a string store whose contents outlive a companion
// instance. A simulated restart builds a new companion over the same FakeLocalStorage.

export class FakeLocalStorage {
  private data: { [k: string]: string } = {};
  /** test API: how many writes happened (to check "persist before ack") */
  writes = 0;
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
    this.writes++;
    this.data[key] = String(value);
  }
  removeItem(key: string): void {
    delete this.data[key];
  }
  clear(): void {
    this.data = {};
  }
  /** test API: a copy of everything stored */
  snapshot(): { [k: string]: string } {
    return { ...this.data };
  }
}

export function createLocalStorage(): FakeLocalStorage {
  return new FakeLocalStorage();
}

export const localStorage = new FakeLocalStorage();
