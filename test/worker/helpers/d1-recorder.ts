// A D1Database that records every statement it runs (SQL and bound values) and hands the real
// statements to D1, so a test can ask SQLite how it planned each one (EXPLAIN QUERY PLAN) and
// what it cost (meta.rows_read).
export interface Recorded {
  sql: string;
  args: unknown[];
}

export function recordingDb(db: D1Database): { db: D1Database; seen: Recorded[] } {
  const seen: Recorded[] = [];
  class Stmt {
    constructor(readonly sql: string, readonly real: D1PreparedStatement, readonly args: unknown[] = []) {}
    bind(...args: unknown[]) {
      return new Stmt(this.sql, this.real.bind(...args), args);
    }
    private note() {
      seen.push({ sql: this.sql, args: this.args });
    }
    first(col?: string) {
      this.note();
      return col === undefined ? this.real.first() : this.real.first(col);
    }
    all() {
      this.note();
      return this.real.all();
    }
    run() {
      this.note();
      return this.real.run();
    }
    raw(opts?: { columnNames?: boolean }) {
      this.note();
      return this.real.raw(opts as { columnNames: true });
    }
  }
  const recorder = {
    prepare: (sql: string) => new Stmt(sql, db.prepare(sql)),
    batch: (stmts: Stmt[]) => {
      for (const s of stmts) seen.push({ sql: s.sql, args: s.args });
      return db.batch(stmts.map((s) => s.real));
    },
    exec: (sql: string) => db.exec(sql),
    dump: () => db.dump(),
    withSession: () => {
      throw new Error("not recorded");
    },
  };
  return { db: recorder as unknown as D1Database, seen };
}

/** SQLite's plan of a recorded statement: one line per step ("SEARCH deploys USING INDEX …"). */
export async function queryPlan(db: D1Database, q: Recorded): Promise<string[]> {
  const { results } = await db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.args).all<{ detail: string }>();
  return results.map((r) => r.detail);
}

/**
 * The steps of a plan that read a whole table or a whole index. An index walked in order and cut
 * short by the statement's LIMIT (`SCAN deploys USING INDEX deploys_by_created` for "the newest
 * 20") is not one, as long as no temporary B-tree has to sort everything first.
 */
export function fullScans(sql: string, plan: string[]): string[] {
  const sorted = plan.some((s) => /USE TEMP B-TREE FOR (ORDER BY|DISTINCT|GROUP BY)/.test(s));
  const limited = /\bLIMIT\b/i.test(sql) && !sorted;
  return plan.filter((s) => /^SCAN \w+$/.test(s) || (/^SCAN \w+ USING (COVERING )?INDEX/.test(s) && !limited));
}
