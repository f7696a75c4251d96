// The verdict on one Swarm service during an operation, as a pure function of what
// `docker service inspect` and the service's tasks say. Never trusts `docker stack deploy`'s
// exit code (docker/cli#6752): only Swarm's own UpdateStatus and tasks count.
import type { ServiceState } from "../protocol/agent";
import type { ServiceInspect, TaskInspect } from "./docker";

export type ServiceVerdict =
  | { kind: "converged"; why: string }
  | { kind: "failed"; why: string }
  | { kind: "pending"; why: string };

/** Update states in which Swarm is still moving tasks (an update, or its own rollback). */
const IN_PROGRESS_UPDATE_STATES = new Set(["updating", "rollback_started"]);

/** Update states that mean Swarm gave up on this update (failure_action rollback or pause). */
export function isFailedUpdateState(state: string): boolean {
  return state === "paused" || state.startsWith("rollback_");
}

export function desiredReplicas(svc: ServiceInspect, tasks: TaskInspect[]): number {
  const r = svc.Spec.Mode?.Replicated?.Replicas;
  if (r !== undefined) return r;
  // Global services: one task per eligible node; Swarm's wanted tasks are the desired ones.
  return tasks.filter((t) => t.ServiceID === svc.ID && t.DesiredState === "running").length;
}

/**
 * Container-spec fields Swarm reports on the service but leaves out of the task it created from
 * that very spec (seen on dockerd 20.10: the task lacks `StopGracePeriod`), so they cannot tell an
 * old task from a new one.
 */
const NOT_COPIED_TO_TASKS = new Set(["StopGracePeriod"]);

/**
 * A task runs "the current spec" when its container spec and force-update counter equal the
 * service's task template: what `--detach=false` waits for and `service ls` shows as n/n.
 * Compared without zero values (false, 0, "", null, {}, []), because the two JSON documents are
 * serialised differently (the task omits `NoNewPrivileges: false` and `DNSConfig: {}`).
 */
export function onCurrentSpec(svc: ServiceInspect, task: TaskInspect): boolean {
  const want = svc.Spec.TaskTemplate;
  return (
    comparable(task.Spec.ContainerSpec ?? {}) === comparable(want.ContainerSpec ?? {}) &&
    (task.Spec.ForceUpdate ?? 0) === (want.ForceUpdate ?? 0)
  );
}

function comparable(spec: Record<string, unknown>): string {
  const top = Object.fromEntries(Object.entries(spec).filter(([k]) => !NOT_COPIED_TO_TASKS.has(k)));
  return stableJson(withoutZeroValues(top) ?? {});
}

/** Drops zero values recursively (what Go's `omitempty` leaves out); undefined when nothing is left. */
function withoutZeroValues(v: unknown): unknown {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((x) => withoutZeroValues(x) ?? null);
  if (typeof v === "object") {
    const kept = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => [k, withoutZeroValues(x)] as const)
      .filter(([, x]) => x !== undefined);
    return kept.length === 0 ? undefined : Object.fromEntries(kept);
  }
  return v;
}

export function runningOnCurrentSpec(svc: ServiceInspect, tasks: TaskInspect[]): number {
  return tasks.filter(
    (t) => t.ServiceID === svc.ID && t.DesiredState === "running" && t.Status.State === "running" && onCurrentSpec(svc, t),
  ).length;
}

/** Judges one service. `opStartedMs`: when this operation began (before `stack deploy` ran). */
export function judgeService(svc: ServiceInspect, tasks: TaskInspect[], opStartedMs: number): ServiceVerdict {
  const name = svc.Spec.Name;
  const us = svc.UpdateStatus;
  const startedMs = us?.StartedAt ? Date.parse(us.StartedAt) : NaN;
  const fresh = us?.State !== undefined && Number.isFinite(startedMs) && startedMs >= opStartedMs;

  if (fresh) {
    const state = us!.State!;
    if (isFailedUpdateState(state)) {
      return { kind: "failed", why: `service ${name}: update ${state}: ${us!.Message ?? "(no message)"}` };
    }
    if (state === "completed") return { kind: "converged", why: `service ${name}: update completed` };
    return { kind: "pending", why: `service ${name}: update ${state}` };
  }

  // No update of ours (service created now, unchanged, or Swarm has not started the update yet):
  // only the tasks can say it is done. A changed spec whose update has not begun still has its
  // tasks on the old spec, so it stays pending here.
  // An earlier update Swarm is still carrying out (typically its own rollback of the release we
  // are replacing: the spec is already back, the broken task is still being stopped) is no verdict
  // either way, but it is not done: calling the service converged now would start the caller's
  // soak window while users can still be routed to the task on its way out.
  if (us?.State && IN_PROGRESS_UPDATE_STATES.has(us.State)) {
    return { kind: "pending", why: `service ${name}: Swarm is still carrying out an earlier update (${us.State})` };
  }
  const desired = desiredReplicas(svc, tasks);
  const running = runningOnCurrentSpec(svc, tasks);
  const leftovers = tasks.filter((t) => t.ServiceID === svc.ID && t.Status.State === "running" && !onCurrentSpec(svc, t)).length;
  if (leftovers > 0) {
    return { kind: "pending", why: `service ${name}: ${leftovers} task(s) of an older spec still running` };
  }
  const stale = us?.State ? ` (stale update status ${us.State} ignored)` : "";
  if (running >= desired && desired > 0) {
    return { kind: "converged", why: `service ${name}: ${running}/${desired} tasks on current spec${stale}` };
  }
  if (desired === 0 && svc.Spec.Mode?.Replicated?.Replicas === 0) {
    return { kind: "converged", why: `service ${name}: scaled to 0` };
  }
  return { kind: "pending", why: `service ${name}: ${running}/${desired} tasks on current spec${stale}` };
}

export function serviceState(svc: ServiceInspect, tasks: TaskInspect[]): ServiceState {
  return {
    name: svc.Spec.Name,
    image: svc.Spec.TaskTemplate.ContainerSpec?.Image ?? "",
    update_state: svc.UpdateStatus?.State ?? null,
    running: runningOnCurrentSpec(svc, tasks),
    desired: desiredReplicas(svc, tasks),
  };
}

/** The operation's verdict from its services' verdicts. */
export function judgeOperation(verdicts: ServiceVerdict[]): ServiceVerdict {
  const failed = verdicts.filter((v) => v.kind === "failed");
  if (failed.length) return { kind: "failed", why: failed.map((v) => v.why).join("; ") };
  const pending = verdicts.filter((v) => v.kind === "pending");
  if (pending.length || verdicts.length === 0)
    return { kind: "pending", why: pending.map((v) => v.why).join("; ") || "no services in the stack" };
  return { kind: "converged", why: "every service converged" };
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : val,
  );
}

/** The SHA in an image tag (`repo:<40 hex>` or `repo:<40 hex>@sha256:…`), else null. */
export function shaOfImage(image: string): string | null {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  if (colon <= slash) return null;
  const tag = noDigest.slice(colon + 1);
  return /^[0-9a-f]{40}$/.test(tag) ? tag : null;
}

/** The SHA the stack runs: the tag every 40-hex-tagged service agrees on; null if none or they disagree. */
export function runningSha(images: string[]): string | null {
  const shas = new Set(images.map(shaOfImage).filter((s): s is string => s !== null));
  return shas.size === 1 ? [...shas][0] : null;
}
