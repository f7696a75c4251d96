// Watches one Swarm service through the Docker Engine API on its unix socket (cheaper than the CLI,
// so it can poll every 150 ms): the service's spec image and Swarm's UpdatedAt, its UpdateStatus,
// and every task's state changes with Swarm's OWN timestamps (Status.Timestamp), so "Swarm has
// the rollback spec", "the old task started" and "the old task is healthy" are Swarm's times, not
// the moments this poller happened to look. Bounded in count and time; local socket only.
import http from "node:http";

const SOCKET = "/var/run/docker.sock";

function get<T>(p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: SOCKET, path: p, timeout: 3_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`docker ${p}: ${res.statusCode} ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("docker API timeout")));
    req.on("error", reject);
  });
}

/** Docker's RFC 3339 times carry nanoseconds; Date.parse wants at most milliseconds. */
export const dockerTime = (s: string | undefined): number | null => {
  if (!s || s.startsWith("0001-")) return null;
  const t = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(t) ? t : null;
};

interface ApiTask {
  ID: string;
  CreatedAt: string;
  Spec: { ContainerSpec: { Image: string } };
  Status: { Timestamp: string; State: string };
  DesiredState: string;
}
interface ApiService {
  UpdatedAt: string;
  Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string; CompletedAt?: string };
}

export interface TaskHistory {
  id: string;
  image: string;
  created_at: number | null;
  /** state → Swarm's timestamp of entering it (first time this poller saw the task in it) */
  states: Record<string, number | null>;
}
export interface SpecChange {
  image: string;
  /** Swarm's UpdatedAt for that spec */
  at: number | null;
  seen_at: number;
}
export interface SwarmWatch {
  specs: SpecChange[];
  update_states: { at: number; state: string }[];
  messages: string[];
  tasks: TaskHistory[];
  polls: number;
}

export function watchService(service: string, o: { everyMs?: number; maxPolls?: number } = {}) {
  const everyMs = o.everyMs ?? 150;
  const maxPolls = o.maxPolls ?? 3_000;
  const w: SwarmWatch = { specs: [], update_states: [], messages: [], tasks: [], polls: 0 };
  const tasks = new Map<string, TaskHistory>();
  let running = true;
  const filter = encodeURIComponent(JSON.stringify({ service: [service] }));
  const loop = (async () => {
    while (running && w.polls < maxPolls) {
      w.polls++;
      const now = Date.now();
      try {
        const [svc, ts] = await Promise.all([get<ApiService>(`/services/${service}`), get<ApiTask[]>(`/tasks?filters=${filter}`)]);
        const image = svc.Spec.TaskTemplate.ContainerSpec.Image.split("@")[0];
        if (w.specs.at(-1)?.image !== image) w.specs.push({ image, at: dockerTime(svc.UpdatedAt), seen_at: now });
        const u = svc.UpdateStatus;
        if (u?.State && w.update_states.at(-1)?.state !== u.State) w.update_states.push({ at: now, state: u.State });
        if (u?.Message && w.messages.at(-1) !== u.Message) w.messages.push(u.Message);
        for (const t of ts) {
          let h = tasks.get(t.ID);
          if (!h) {
            h = { id: t.ID, image: t.Spec.ContainerSpec.Image.split("@")[0], created_at: dockerTime(t.CreatedAt), states: {} };
            tasks.set(t.ID, h);
          }
          if (!(t.Status.State in h.states)) h.states[t.Status.State] = dockerTime(t.Status.Timestamp);
        }
      } catch {
        /* the daemon was busy; next poll */
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - now))));
    }
  })();
  return {
    async stop(): Promise<SwarmWatch> {
      running = false;
      await loop;
      w.tasks = [...tasks.values()].sort((a, b) => (a.created_at ?? 0) - (b.created_at ?? 0));
      return w;
    },
  };
}
