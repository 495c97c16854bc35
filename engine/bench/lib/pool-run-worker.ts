/**
 * The naive piscina shape, as a baseline: one `pool.run()` per tick. The work
 * per tick is deliberately tiny (the same checksum as the postMessage consumer), so the number
 * measures the task round trip, not feature math.
 */
let checksum = 0;
export default function onTick(t: { symbolId: number; price: number }): number {
  checksum += t.symbolId + t.price;
  return checksum;
}
