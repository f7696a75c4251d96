// Single-use token ids: every authenticated request consumes its jti. Bounded: entries leave once
// their token could no longer verify (exp + skew), and a full store refuses (fails closed) rather
// than forgetting a jti that could still be replayed.
export const JTI_STORE_MAX = 10_000;

export class JtiStore {
  private readonly seen = new Map<string, number>(); // jti -> forget after (epoch seconds)

  constructor(private readonly max = JTI_STORE_MAX) {}

  /** Records `jti` until `forgetAfterS`; false when it was seen already or the store is full. */
  consume(jti: string, forgetAfterS: number, nowS: number): "ok" | "replayed" | "full" {
    if (this.seen.has(jti)) return "replayed";
    if (this.seen.size >= this.max) this.prune(nowS);
    if (this.seen.size >= this.max) return "full";
    this.seen.set(jti, forgetAfterS);
    return "ok";
  }

  prune(nowS: number): void {
    for (const [jti, until] of this.seen) if (until < nowS) this.seen.delete(jti);
  }

  get size(): number {
    return this.seen.size;
  }
}
