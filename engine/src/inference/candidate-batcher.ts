/**
 * The inference thread's ring side: gathers CANDIDATE records from the shards' candidate rings
 * into one micro-batch (model inputs written straight into the batch's Float32Array), and writes
 * the SCORED records for that batch into the scored ring.
 *
 * Hot path: no allocation. The batch buffers are sized for `maxBatch` once; a row remembers which
 * ring and sequence it came from in two typed arrays. Candidate cursors are committed only after
 * the batch's scored records are published, so a crash between the two re-scores (never loses) a
 * batch.
 *
 * Order: within one candidate ring, scored records come out in ring order (the contract's
 * per-shard order); across rings a batch takes what each ring has, rotating the starting ring
 * every batch so one busy shard cannot starve the others.
 */
import { MODEL_INPUT_SIZE, toModelInputs } from '../model/inputs.ts';
import type { Doorbells } from '../ring/doorbell.ts';
import { CANDIDATE, CTRL, SCORED } from '../ring/layout.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import type { SpinBudget } from '../ring/spin-wait.ts';

/** 32-bit words of a CANDIDATE record, copied verbatim into the SCORED record's first CANDIDATE.bytes. */
const CANDIDATE_WORDS = CANDIDATE.bytes / 4;

export class CandidateBatcher {
  /** Model inputs of the current batch: row r at r * MODEL_INPUT_SIZE. */
  readonly input: Float32Array;
  /** Scores of the current batch (the ORT output tensor is bound to this buffer). */
  readonly scores: Float32Array;
  /** Rows in the current batch. */
  size = 0;

  private readonly rings: readonly RingBuffer[];
  private readonly consumer: number;
  private readonly scored: RingBuffer;
  private readonly maxBatch: number;
  private readonly rowRing: Uint16Array;
  private readonly rowSeq: Uint32Array;
  /** Per ring: next sequence to take (cursor + taken so far in this batch). */
  private readonly nextSeq: Uint32Array;
  private readonly taken: Uint32Array;
  private startRing = 0;
  private readonly doorbells: Doorbells | undefined;

  /**
   * `doorbells`: slot 0 is this thread's; the candidate rings' producers must hold the same
   * doorbells (they ring it when this thread sleeps). Without it, several rings are waited on
   * with Atomics.waitAsync.
   */
  constructor(
    rings: readonly RingBuffer[],
    consumer: number,
    scored: RingBuffer,
    maxBatch: number,
    doorbells?: Doorbells,
  ) {
    for (const r of rings) {
      if (r.recordBytes !== CANDIDATE.bytes)
        throw new Error(`candidate ring records are ${r.recordBytes} bytes, not ${CANDIDATE.bytes}`);
      if (consumer >= r.consumers) throw new Error(`candidate ring has no consumer cursor ${consumer}`);
    }
    if (scored.recordBytes !== SCORED.bytes)
      throw new Error(`scored ring records are ${scored.recordBytes} bytes, not ${SCORED.bytes}`);
    if (maxBatch > scored.capacity)
      throw new Error(`maxBatch ${maxBatch} exceeds the scored ring capacity ${scored.capacity}`);
    if (rings.length > 65_535) throw new Error('too many candidate rings');
    this.rings = rings;
    this.consumer = consumer;
    this.scored = scored;
    this.maxBatch = maxBatch;
    this.input = new Float32Array(maxBatch * MODEL_INPUT_SIZE);
    this.scores = new Float32Array(maxBatch);
    this.rowRing = new Uint16Array(maxBatch);
    this.rowSeq = new Uint32Array(maxBatch);
    this.nextSeq = new Uint32Array(rings.length);
    this.taken = new Uint32Array(rings.length);
    for (let i = 0; i < rings.length; i++) this.nextSeq[i] = rings[i]!.cursor(consumer);
    this.doorbells = doorbells;
    if (doorbells && rings.length > 1) doorbells.listen(0, rings);
  }

  /** Adds every readable candidate (up to maxBatch in all) to the batch; returns the batch size. */
  gather(): number {
    const k = this.rings.length;
    let n = this.size;
    for (let step = 0; step < k && n < this.maxBatch; step++) {
      const ri = (this.startRing + step) % k;
      const ring = this.rings[ri]!;
      let seq = this.nextSeq[ri]!;
      let avail = (ring.head() - seq) >>> 0;
      if (avail === 0) continue;
      if (avail > this.maxBatch - n) avail = this.maxBatch - n;
      const f64 = ring.f64;
      const u8 = ring.u8;
      const i8 = ring.i8;
      for (let j = 0; j < avail; j++) {
        const b64 = ring.base64(seq);
        const b8 = ring.base8(seq);
        toModelInputs(
          f64,
          f64[b64 + CANDIDATE.f64.price]!,
          u8[b8 + CANDIDATE.u8.pattern]!,
          i8[b8 + CANDIDATE.i8.direction]!,
          this.input,
          n * MODEL_INPUT_SIZE,
          b64 + CANDIDATE.f64.features,
        );
        this.rowRing[n] = ri;
        this.rowSeq[n] = seq;
        n++;
        seq = (seq + 1) >>> 0;
      }
      this.nextSeq[ri] = seq;
      this.taken[ri] = this.taken[ri]! + avail;
    }
    this.size = n;
    return n;
  }

  /**
   * Sleeps until a candidate ring holds a record this batch has not taken (its head is past the
   * batch's next sequence, not merely past the committed cursor: a partial batch waiting for more
   * must not wake on its own records) or `timeoutMs` passes. A bounded adaptive spin first
   * (`spin`), then a park: one ring, Atomics.wait on its head; several rings, Atomics.wait on this
   * thread's doorbell, which every ring's producer rings while the thread sleeps. Without a
   * doorbell, several rings fall back to Atomics.waitAsync on every head at once. `wakeAfter`:
   * the producers need not wake the thread before that many more records are in a ring (a batch
   * being formed only needs waking once it can be full; its deadline ends the sleep otherwise).
   */
  waitForCandidates(timeoutMs: number, spin?: SpinBudget, wakeAfter = 1): Promise<void> | undefined {
    const rings = this.rings;
    if (rings.length === 1) {
      rings[0]!.waitBeyond(this.nextSeq[0]!, timeoutMs, spin, wakeAfter);
      return undefined;
    }
    if (this.doorbells) {
      this.doorbells.sleep(0, rings, this.nextSeq, timeoutMs, spin, wakeAfter);
      return undefined;
    }
    return this.waitAsyncOnHeads(timeoutMs);
  }

  private async waitAsyncOnHeads(timeoutMs: number): Promise<void> {
    const rings = this.rings;
    for (const r of rings) Atomics.add(r.ctrl, CTRL.SLEEPERS, 1);
    try {
      const waits: Promise<unknown>[] = [];
      for (let i = 0; i < rings.length; i++) {
        const r = rings[i]!;
        const head = Atomics.load(r.ctrl, CTRL.HEAD);
        if (((head >>> 0) - this.nextSeq[i]!) >>> 0 !== 0) return;
        const res = Atomics.waitAsync(r.ctrl, CTRL.HEAD, head, timeoutMs);
        if (!res.async) return;
        waits.push(res.value);
      }
      // Pending waitAsync promises do not keep a worker's event loop alive; the timer does (and
      // bounds the wait). Allocation here is per idle sleep, never per candidate.
      let timer: ReturnType<typeof setTimeout> | undefined;
      waits.push(
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      );
      await Promise.race(waits);
      clearTimeout(timer);
    } finally {
      for (const r of rings) Atomics.sub(r.ctrl, CTRL.SLEEPERS, 1);
    }
  }

  /** True when no candidate ring holds a record this batch has not taken. */
  allEmpty(): boolean {
    for (let i = 0; i < this.rings.length; i++) {
      if ((this.rings[i]!.head() - this.nextSeq[i]!) >>> 0 !== 0) return false;
    }
    return true;
  }

  /**
   * Writes the batch's SCORED records (candidate fields + score + tsSignal + batch size + shard),
   * publishes them, then commits the candidate cursors. Waits while the scored ring is full
   * (backpressure reaches the feature workers through the candidate rings); `onFull` is called
   * once per wait so it is counted. `commit` false publishes without committing: only the crash
   * drill's `exit-after-publish` fault (messages.ts), a thread dying between the two.
   */
  publishScored(tsSignalUs: number, onFull: () => void, commit = true): void {
    const n = this.size;
    if (n === 0) return;
    const scored = this.scored;
    let first = scored.tryClaim(n);
    while (first === -1) {
      onFull();
      first = scored.claim(n, 100);
    }
    const tsHi = Math.floor(tsSignalUs / 4294967296) >>> 0;
    const tsLo = tsSignalUs >>> 0;
    const out32 = scored.u32;
    const out16 = scored.u16;
    const outF32 = scored.f32;
    for (let r = 0; r < n; r++) {
      const ring = this.rings[this.rowRing[r]!]!;
      const src = ring.base32(this.rowSeq[r]!);
      const seq = (first + r) >>> 0;
      const dst = scored.base32(seq);
      const in32 = ring.u32;
      // Word copy, not f64: a u32 field pair read as a double could be a NaN and get canonicalised.
      for (let w = 0; w < CANDIDATE_WORDS; w++) out32[dst + w] = in32[src + w]!;
      outF32[dst + SCORED.f32.score] = this.scores[r]!;
      out32[dst + SCORED.u32.tsSignalHi] = tsHi;
      out32[dst + SCORED.u32.tsSignalLo] = tsLo;
      const d16 = scored.base16(seq);
      out16[d16 + SCORED.u16.inferenceBatchSize] = n;
      out16[d16 + SCORED.u16.shard] = this.rowRing[r]!;
    }
    scored.publish((first + n) >>> 0);
    if (!commit) return;
    for (let i = 0; i < this.rings.length; i++) {
      if (this.taken[i] !== 0) {
        this.rings[i]!.commit(this.consumer, this.nextSeq[i]!);
        this.taken[i] = 0;
      }
    }
    this.startRing = (this.startRing + 1) % this.rings.length;
    this.size = 0;
  }
}
