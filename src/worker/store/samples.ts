// Probe samples: every probe the Worker sent, written in multi-row INSERTs so that a slice of the
// probe loop costs one statement per few samples inside the invocation's single D1 batch.

export const OUTCOMES = ["ok", "bad_status", "error", "timeout"] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type SamplePhase = "deploying" | "verifying" | "baking" | "rolling_back";

export interface Sample {
  deploy_id: string;
  phase: SamplePhase;
  url: string;
  /** when the probe was sent (ms) */
  at: number;
  latency_ms: number;
  status: number | null;
  outcome: Outcome;
  version: string | null;
  error: string | null;
  /** counted in the deploy's probes / rollback_probes (0: taken before the rollback converged) */
  counted: boolean;
  /** the probe site that took it: a location hint of probe_regions, or null for the coordinator itself (migration 0005) */
  region?: string | null;
  /** the Cloudflare data centre the answer names (its cf-ray header), null when it names none */
  colo?: string | null;
}

const COLUMNS = ["deploy_id", "phase", "url", "at", "latency_ms", "status", "outcome", "version", "error", "counted", "region", "colo"] as const;
/** D1 binds at most 100 parameters per statement. */
const ROWS_PER_STATEMENT = Math.floor(100 / COLUMNS.length);

export function insertSamplesStmts(db: D1Database, samples: Sample[]): D1PreparedStatement[] {
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < samples.length; i += ROWS_PER_STATEMENT) {
    const chunk = samples.slice(i, i + ROWS_PER_STATEMENT);
    const row = `(${COLUMNS.map(() => "?").join(", ")})`;
    const binds = chunk.flatMap((s) => [s.deploy_id, s.phase, s.url, s.at, Math.round(s.latency_ms), s.status, s.outcome, s.version, s.error?.slice(0, 300) ?? null, s.counted ? 1 : 0, s.region ?? null, s.colo ?? null]);
    stmts.push(db.prepare(`INSERT INTO probe_samples (${COLUMNS.join(", ")}) VALUES ${chunk.map(() => row).join(", ")}`).bind(...binds));
  }
  return stmts;
}

export interface SampleRow extends Omit<Sample, "counted" | "region" | "colo"> {
  id: number;
  counted: number;
  region: string | null;
  colo: string | null;
}

export async function listSamples(db: D1Database, deployId: string): Promise<SampleRow[]> {
  const { results } = await db.prepare("SELECT * FROM probe_samples WHERE deploy_id = ? ORDER BY at, id").bind(deployId).all<SampleRow>();
  return results;
}
