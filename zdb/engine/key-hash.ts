/**
 * Maps user keys (1..255 bytes) to slot numbers with open addressing over typed arrays.
 * Key bytes live in one arena buffer; a slot records where. No JS object per key.
 */
const EMPTY = 0;
const TOMBSTONE = -1;

export function hashKey(key: Uint8Array): number {
  // FNV-1a, 32-bit: cheap, and good enough spread for a power-of-two table.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class KeyHash {
  private table = new Int32Array(2048); // slot + 1; 0 empty, -1 tombstone
  private used = 0; // live + tombstones in table
  private arena = Buffer.allocUnsafe(64 * 1024);
  private arenaEnd = 0;
  private arenaWaste = 0;
  private keyOffset = new Uint32Array(1024);
  private keyLength = new Uint8Array(1024);
  private freeSlots: number[] = [];
  private nextSlot = 0;
  size = 0;

  /** Slot of key, or -1. */
  find(key: Uint8Array): number {
    const mask = this.table.length - 1;
    let i = hashKey(key) & mask;
    for (;;) {
      const t = this.table[i]!;
      if (t === EMPTY) return -1;
      if (t !== TOMBSTONE && this.keyEquals(t - 1, key)) return t - 1;
      i = (i + 1) & mask;
    }
  }

  /** Slot of key, creating it when absent; `created` tells which. */
  upsert(key: Uint8Array): { slot: number; created: boolean } {
    const found = this.find(key);
    if (found >= 0) return { slot: found, created: false };
    if ((this.used + 1) * 2 > this.table.length)
      this.rehash(this.size * 4 > this.table.length ? this.table.length * 2 : this.table.length);
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.nextSlot++;
    this.ensureSlots(slot + 1);
    this.storeKey(slot, key);
    this.place(slot, hashKey(key));
    this.used++;
    this.size++;
    return { slot, created: true };
  }

  remove(key: Uint8Array): number {
    const mask = this.table.length - 1;
    let i = hashKey(key) & mask;
    for (;;) {
      const t = this.table[i]!;
      if (t === EMPTY) return -1;
      if (t !== TOMBSTONE && this.keyEquals(t - 1, key)) {
        this.table[i] = TOMBSTONE;
        const slot = t - 1;
        this.arenaWaste += this.keyLength[slot]!;
        this.keyLength[slot] = 0;
        this.freeSlots.push(slot);
        this.size--;
        return slot;
      }
      i = (i + 1) & mask;
    }
  }

  key(slot: number): Buffer {
    const off = this.keyOffset[slot]!;
    return this.arena.subarray(off, off + this.keyLength[slot]!);
  }

  /** Highest slot number handed out so far, plus one (slots below it may be free). */
  get slotLimit(): number {
    return this.nextSlot;
  }

  isLive(slot: number): boolean {
    return slot < this.nextSlot && this.keyLength[slot]! > 0;
  }

  get bytes(): number {
    return this.table.byteLength + this.arena.length + this.keyOffset.byteLength + this.keyLength.byteLength;
  }

  private keyEquals(slot: number, key: Uint8Array): boolean {
    const len = this.keyLength[slot]!;
    if (len !== key.length) return false;
    const off = this.keyOffset[slot]!;
    return this.arena.compare(key, 0, len, off, off + len) === 0;
  }

  private place(slot: number, hash: number): void {
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i]! > 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size);
    for (const t of old) if (t > 0) this.place(t - 1, hashKey(this.key(t - 1)));
    this.used = this.size;
  }

  private storeKey(slot: number, key: Uint8Array): void {
    if (this.arenaEnd + key.length > this.arena.length) this.growArena(key.length);
    this.keyOffset[slot] = this.arenaEnd;
    this.keyLength[slot] = key.length;
    this.arena.set(key, this.arenaEnd);
    this.arenaEnd += key.length;
  }

  /** Grows the arena, or packs it when most of it is keys that were removed. */
  private growArena(need: number): void {
    const liveBytes = this.arenaEnd - this.arenaWaste;
    const size = Math.max(64 * 1024, liveBytes + need) * 2;
    const next = Buffer.allocUnsafe(this.arenaWaste > this.arenaEnd / 2 ? Math.max(size / 2, this.arena.length) : size);
    let end = 0;
    for (let s = 0; s < this.nextSlot; s++) {
      const len = this.keyLength[s]!;
      if (len === 0) continue;
      const off = this.keyOffset[s]!;
      this.arena.copy(next, end, off, off + len);
      this.keyOffset[s] = end;
      end += len;
    }
    this.arena = next;
    this.arenaEnd = end;
    this.arenaWaste = 0;
    if (end + need > next.length) this.growArena(need);
  }

  private ensureSlots(n: number): void {
    if (n <= this.keyOffset.length) return;
    let cap = this.keyOffset.length;
    while (cap < n) cap *= 2;
    const off = new Uint32Array(cap);
    off.set(this.keyOffset);
    const len = new Uint8Array(cap);
    len.set(this.keyLength);
    this.keyOffset = off;
    this.keyLength = len;
  }
}
