// Images this agent knows exist without asking again: ones it saw in Swarm's running spec (read
// before every operation) or that passed its own pre-flight check, for KNOWN_IMAGE_TTL_MS. A
// rollback deploys the images that ran moments ago, so its pre-flight skips the check — in registry
// mode a `docker manifest inspect` per image, several hundred milliseconds each against ghcr.io —
// and reaches `docker stack deploy` sooner (issue 14: time to restore). A forward deploy of a new
// SHA has never been seen: it is checked exactly as before.

/** How long a sighting counts. Old task containers keep a local image; a registry may drop a tag (retention). */
export const KNOWN_IMAGE_TTL_MS = 60 * 60 * 1000;

export type Sighting = { how: "running in Swarm" | "found by pre-flight"; at: number };

/** `ghcr.io/o/app:tag@sha256:…` (how Swarm pins a spec) and `ghcr.io/o/app:tag` are the same image here. */
export function withoutDigest(ref: string): string {
  const at = ref.indexOf("@");
  return at === -1 ? ref : ref.slice(0, at);
}

export class KnownImages {
  private readonly seen = new Map<string, Sighting>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly ttlMs = KNOWN_IMAGE_TTL_MS,
  ) {}

  /** Every image of Swarm's running spec (digest-pinned refs welcome; empty ones ignored). */
  sawRunning(refs: Iterable<string>): void {
    for (const ref of refs) if (ref) this.note(withoutDigest(ref), "running in Swarm");
  }

  found(ref: string): void {
    this.note(withoutDigest(ref), "found by pre-flight");
  }

  /** The newest sighting within the TTL, or null: then the image must be checked. */
  lookup(ref: string): Sighting | null {
    const s = this.seen.get(withoutDigest(ref));
    if (!s) return null;
    if (this.clock() - s.at > this.ttlMs) {
      this.seen.delete(withoutDigest(ref));
      return null;
    }
    return s;
  }

  private note(ref: string, how: Sighting["how"]): void {
    this.seen.delete(ref); // re-inserted last: the map stays in sighting order
    this.seen.set(ref, { how, at: this.clock() });
    // bounded: a long-lived agent forgets the oldest sightings first
    for (const key of this.seen.keys()) {
      if (this.seen.size <= MAX_KNOWN_IMAGES) break;
      this.seen.delete(key);
    }
  }
}

const MAX_KNOWN_IMAGES = 500;
