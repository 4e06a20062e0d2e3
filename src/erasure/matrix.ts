import { gfInverse, gfMul, gfPow } from './gf256.js';

/** A matrix over GF(2^8), row-major. */
export class GfMatrix {
  readonly data: Uint8Array;

  constructor(
    readonly rows: number,
    readonly cols: number,
    data?: Uint8Array,
  ) {
    this.data = data ?? new Uint8Array(rows * cols);
  }

  get(r: number, c: number): number {
    return this.data[r * this.cols + c];
  }

  set(r: number, c: number, value: number): void {
    this.data[r * this.cols + c] = value;
  }

  row(r: number): Uint8Array {
    return this.data.subarray(r * this.cols, (r + 1) * this.cols);
  }

  static identity(size: number): GfMatrix {
    const m = new GfMatrix(size, size);
    for (let i = 0; i < size; i++) m.set(i, i, 1);
    return m;
  }

  /** The rows `indices` of this matrix, in that order. */
  selectRows(indices: readonly number[]): GfMatrix {
    const m = new GfMatrix(indices.length, this.cols);
    indices.forEach((r, i) => m.data.set(this.row(r), i * this.cols));
    return m;
  }

  multiply(other: GfMatrix): GfMatrix {
    if (this.cols !== other.rows) throw new RangeError('matrix dimensions do not match');
    const out = new GfMatrix(this.rows, other.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < other.cols; c++) {
        let acc = 0;
        for (let i = 0; i < this.cols; i++) acc ^= gfMul(this.get(r, i), other.get(i, c));
        out.set(r, c, acc);
      }
    }
    return out;
  }

  /** Gauss-Jordan elimination; the inverse is unique, so any pivot order gives the crate's result. */
  invert(): GfMatrix {
    if (this.rows !== this.cols) throw new RangeError('only square matrices have inverses');
    const n = this.rows;
    const work = new GfMatrix(n, n, this.data.slice());
    const inv = GfMatrix.identity(n);
    for (let col = 0; col < n; col++) {
      let pivot = col;
      while (pivot < n && work.get(pivot, col) === 0) pivot++;
      if (pivot === n) throw new RangeError('matrix is singular');
      if (pivot !== col) {
        swapRows(work, pivot, col);
        swapRows(inv, pivot, col);
      }
      const scale = gfInverse(work.get(col, col));
      scaleRow(work, col, scale);
      scaleRow(inv, col, scale);
      for (let r = 0; r < n; r++) {
        const factor = work.get(r, col);
        if (r === col || factor === 0) continue;
        addScaledRow(work, r, col, factor);
        addScaledRow(inv, r, col, factor);
      }
    }
    return inv;
  }
}

function swapRows(m: GfMatrix, a: number, b: number): void {
  const tmp = m.row(a).slice();
  m.data.copyWithin(a * m.cols, b * m.cols, (b + 1) * m.cols);
  m.data.set(tmp, b * m.cols);
}

function scaleRow(m: GfMatrix, r: number, factor: number): void {
  const row = m.row(r);
  for (let c = 0; c < row.length; c++) row[c] = gfMul(row[c], factor);
}

/** row[target] += factor * row[source] (addition is XOR). */
function addScaledRow(m: GfMatrix, target: number, source: number, factor: number): void {
  const dst = m.row(target);
  const src = m.row(source);
  for (let c = 0; c < dst.length; c++) dst[c] ^= gfMul(src[c], factor);
}

/**
 * The systematic encoding matrix of `reed-solomon-erasure`: a (k+m) x k Vandermonde matrix
 * (v[r][c] = r^c) multiplied by the inverse of its top k x k square, so the top k rows are the
 * identity and rows k..k+m-1 produce the parity shards.
 */
export function encodingMatrix(dataShards: number, parityShards: number): GfMatrix {
  const total = dataShards + parityShards;
  const vandermonde = new GfMatrix(total, dataShards);
  for (let r = 0; r < total; r++) {
    for (let c = 0; c < dataShards; c++) vandermonde.set(r, c, gfPow(r, c));
  }
  const top = vandermonde.selectRows([...Array(dataShards).keys()]);
  return vandermonde.multiply(top.invert());
}
