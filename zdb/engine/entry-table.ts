/**
 * Where every live key's current version lives, in columns of typed arrays: no JS object
 * per key, so a million keys cost tens of megabytes, not hundreds.
 */
export interface EntryLocation {
  dataFile: number;
  dataOffset: number;
  length: number;
  crc: number;
  timestamp: number;
  indexFile: number;
  indexOffset: number;
}

export class EntryTable {
  capacity = 0;
  dataFile = new Uint32Array(0);
  dataOffset = new Uint32Array(0);
  length = new Uint32Array(0);
  crc = new Uint32Array(0);
  timestamp = new Uint32Array(0);
  indexFile = new Uint32Array(0);
  indexOffset = new Uint32Array(0);

  ensure(slots: number): void {
    if (slots <= this.capacity) return;
    let cap = Math.max(1024, this.capacity);
    while (cap < slots) cap *= 2;
    const grow = (a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const n = new Uint32Array(cap);
      n.set(a);
      return n;
    };
    this.dataFile = grow(this.dataFile);
    this.dataOffset = grow(this.dataOffset);
    this.length = grow(this.length);
    this.crc = grow(this.crc);
    this.timestamp = grow(this.timestamp);
    this.indexFile = grow(this.indexFile);
    this.indexOffset = grow(this.indexOffset);
    this.capacity = cap;
  }

  set(slot: number, e: EntryLocation): void {
    this.ensure(slot + 1);
    this.dataFile[slot] = e.dataFile;
    this.dataOffset[slot] = e.dataOffset;
    this.length[slot] = e.length;
    this.crc[slot] = e.crc;
    this.timestamp[slot] = e.timestamp;
    this.indexFile[slot] = e.indexFile;
    this.indexOffset[slot] = e.indexOffset;
  }

  get(slot: number): EntryLocation {
    return {
      dataFile: this.dataFile[slot]!,
      dataOffset: this.dataOffset[slot]!,
      length: this.length[slot]!,
      crc: this.crc[slot]!,
      timestamp: this.timestamp[slot]!,
      indexFile: this.indexFile[slot]!,
      indexOffset: this.indexOffset[slot]!,
    };
  }

  /** Bytes held by the columns (for INFO and the memory benchmark). */
  get bytes(): number {
    return this.capacity * 4 * 7;
  }
}
