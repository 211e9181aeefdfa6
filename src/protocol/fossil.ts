// Fossil delta encoding (the format of the Fossil SCM, as the `centrifuge` SDK decodes it for
// subscriptions that negotiated `delta: "fossil"`). Pure: bytes in, bytes out.
//
// A delta is `<target length>\n`, then commands: `<n>@<offset>,` copies n bytes of the source,
// `<n>:<bytes>` inserts n literal bytes, and `<checksum>;` ends it. Numbers are written in a base-64
// alphabet. Matches are found by hashing the source in 16-byte blocks and rolling the same hash
// over the target, as the reference implementation does.

const NHASH = 16;
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';
// How many candidate source blocks one target position tries: bounds the work on repetitive input.
const MAX_CANDIDATES = 250;

class RollingHash {
  private a = 0;
  private b = 0;
  private i = 0;
  private readonly z = new Uint8Array(NHASH);

  init(buf: Uint8Array, pos: number): void {
    let a = 0;
    let b = 0;
    for (let i = 0; i < NHASH; i++) {
      const x = buf[pos + i] as number;
      a = (a + x) & 0xffff;
      b = (b + (NHASH - i) * x) & 0xffff;
      this.z[i] = x;
    }
    this.a = a;
    this.b = b;
    this.i = 0;
  }

  next(c: number): void {
    const old = this.z[this.i] as number;
    this.z[this.i] = c;
    this.i = (this.i + 1) & (NHASH - 1);
    this.a = (this.a - old + c) & 0xffff;
    this.b = (this.b - NHASH * old + this.a) & 0xffff;
  }

  value(): number {
    return ((this.a & 0xffff) | ((this.b & 0xffff) << 16)) >>> 0;
  }
}

class Out {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  char(c: string): void {
    this.room(1);
    this.buf[this.length++] = c.charCodeAt(0);
  }

  int(v: number): void {
    const digits: number[] = v === 0 ? [DIGITS.charCodeAt(0)] : [];
    for (let x = v; x > 0; x = Math.floor(x / 64)) digits.push(DIGITS.charCodeAt(x % 64));
    this.room(digits.length);
    for (let i = digits.length - 1; i >= 0; i--) this.buf[this.length++] = digits[i] as number;
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function digitCount(v: number): number {
  let n = 1;
  for (let x = 64; v >= x; x *= 64) n++;
  return n;
}

/** The checksum that ends a delta: the decoder refuses a result whose checksum differs. */
export function checksum(arr: Uint8Array): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  let z = 0;
  let n = arr.length;
  while (n >= 4) {
    sum0 = (sum0 + (arr[z] as number)) | 0;
    sum1 = (sum1 + (arr[z + 1] as number)) | 0;
    sum2 = (sum2 + (arr[z + 2] as number)) | 0;
    sum3 = (sum3 + (arr[z + 3] as number)) | 0;
    z += 4;
    n -= 4;
  }
  sum3 = (((((sum3 + (sum2 << 8)) | 0) + (sum1 << 16)) | 0) + (sum0 << 24)) | 0;
  if (n >= 3) sum3 = (sum3 + ((arr[z + 2] as number) << 8)) | 0;
  if (n >= 2) sum3 = (sum3 + ((arr[z + 1] as number) << 16)) | 0;
  if (n >= 1) sum3 = (sum3 + ((arr[z] as number) << 24)) | 0;
  return sum3 >>> 0;
}

/** The delta that turns `source` into `target`. */
export function createDelta(source: Uint8Array, target: Uint8Array): Uint8Array {
  const lenSrc = source.length;
  const lenOut = target.length;
  const out = new Out(Math.min(lenOut, 1024) + 32);
  out.int(lenOut);
  out.char('\n');
  if (lenSrc <= NHASH) {
    // Too short to hold a block worth matching: the whole target is one insert.
    if (lenOut > 0) {
      out.int(lenOut);
      out.char(':');
      out.bytes(target, 0, lenOut);
    }
    out.int(checksum(target));
    out.char(';');
    return out.done();
  }

  // Index the source: every NHASH-aligned block, chained per hash bucket (newest first).
  const nHash = Math.ceil(lenSrc / NHASH);
  const collide = new Int32Array(nHash).fill(-1);
  const landmark = new Int32Array(nHash).fill(-1);
  const hash = new RollingHash();
  for (let i = 0; i < lenSrc - NHASH; i += NHASH) {
    hash.init(source, i);
    const hv = hash.value() % nHash;
    collide[i / NHASH] = landmark[hv] as number;
    landmark[hv] = i / NHASH;
  }

  let base = 0;
  while (base + NHASH < lenOut) {
    let bestOfst = 0;
    let bestLitsz = 0;
    let bestCnt = 0;
    hash.init(target, base);
    let i = 0;
    for (;;) {
      let limit = MAX_CANDIDATES;
      let iBlock = landmark[hash.value() % nHash] as number;
      while (iBlock >= 0 && limit-- > 0) {
        const iSrc = iBlock * NHASH;
        let j = 0;
        for (let x = iSrc, y = base + i; x < lenSrc && y < lenOut; j++, x++, y++) {
          if (source[x] !== target[y]) break;
        }
        j--;
        let k = 1;
        for (; k < iSrc && k <= i; k++) {
          if (source[iSrc - k] !== target[base + i - k]) break;
        }
        k--;
        const ofst = iSrc - k;
        const cnt = j + k + 1;
        const litsz = i - k;
        // A copy must be worth its own command's bytes.
        const sz = digitCount(litsz) + digitCount(cnt) + digitCount(ofst) + 3;
        if (cnt >= sz && cnt > bestCnt) {
          bestCnt = cnt;
          bestOfst = ofst;
          bestLitsz = litsz;
        }
        iBlock = collide[iBlock] as number;
      }
      if (bestCnt > 0) {
        if (bestLitsz > 0) {
          out.int(bestLitsz);
          out.char(':');
          out.bytes(target, base, base + bestLitsz);
          base += bestLitsz;
        }
        base += bestCnt;
        out.int(bestCnt);
        out.char('@');
        out.int(bestOfst);
        out.char(',');
        break;
      }
      if (base + i + NHASH >= lenOut) {
        out.int(lenOut - base);
        out.char(':');
        out.bytes(target, base, lenOut);
        base = lenOut;
        break;
      }
      hash.next(target[base + i + NHASH] as number);
      i++;
    }
  }
  if (base < lenOut) {
    out.int(lenOut - base);
    out.char(':');
    out.bytes(target, base, lenOut);
  }
  out.int(checksum(target));
  out.char(';');
  return out.done();
}
