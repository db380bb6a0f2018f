// The hub's REST API as the app uses it: typed shapes, the bearer token, one refresh on 401.
// Tokens are kept in localStorage so a reload stays logged in; logging out revokes the
// session on the hub and forgets them.

import type { components } from "./wire";

// The wire's shapes are generated from docs/openapi.json (`npm run types` writes ./wire.ts;
// a test fails when it drifts). The names below are the ones the app imports.
type Schemas = components["schemas"];

/** The tokens a login answers with, as the app keeps them. */
export type Session = Omit<Schemas["Tokens"], "token_type">;
/** GET /api/health: "ok", or "degraded" with what is wrong (e.g. the hub hears no device). */
export type Health = Schemas["Health"];
export type Place = Schemas["Place"];
/** `currency` (ISO 4217): the hub does not say it yet, so costs show as plain amounts until it does. */
export type HomeOut = Schemas["HomeOut"] & { currency?: string | null };
export type DeviceOut = Schemas["DeviceOut"];
export type PropertyOut = Schemas["PropertyOut"];
export type ActionOut = Schemas["ActionOut"];
export type SpecOut = Schemas["SpecOut"];
/** A property's value; the live WebSocket's state frames (not in the description) carry no source. */
export type StateEntry = Omit<Schemas["State"], "source"> & { source?: string };
export type DeviceDetail = Schemas["DeviceDetail"];
export type CommandStatus = Schemas["CommandStatus"];
export type Command = Schemas["Command"];
export type AutomationOut = Schemas["AutomationOut"];
export type CheckError = Schemas["CheckError"];
export type MemberOut = Schemas["MemberOut"];
export type AuditEntry = Schemas["AuditEntry"];
export type AuditOut = Schemas["AuditOut"];
export type SetupStatus = Schemas["SetupStatus"];
export type FirstOwner = Schemas["FirstOwner"];
export type HomeSetup = Schemas["HomeSetup"];
export type HomeSettings = Schemas["HomeSettings"];
export type DeviceHints = Schemas["DeviceHints"];
export type Grant = Schemas["Grant"];
export type Trace = Schemas["Trace"];
export type AutomationDetail = Schemas["AutomationDetail"];
export type SceneOut = Schemas["SceneOut"];
export type SceneApplied = Schemas["SceneApplied"];
export type SayResult = Schemas["SayResult"];
export type CarPlan = Schemas["CarPlanOut"];
export type PlanSlot = Schemas["SlotOut"];
export type Trip = Schemas["Trip"];
export type ChargeSession = Schemas["ChargeSession"];
export type Summary = Schemas["Summary"];
export type EnrollmentChallenge = Schemas["EnrollmentChallenge"];
export type SessionOpened = Schemas["SessionOpened"];
export type EnrolledKey = Schemas["EnrolledKey"];
export type PendingOut = Schemas["Pending"];
/** A signed command as the browser sends it (`wait` left to the hub's default). */
export type SignedBody = Omit<Schemas["SignedCommand"], "wait">;

/** An RFC 9457 problem the hub answered with; `detail` says what went wrong and why. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly body: Record<string, unknown>,
  ) {
    super(detail);
  }

  /** The most specific reason the hub gave (a denial's `reason`, else the detail). */
  get reason(): string {
    const reason = this.body["reason"];
    return typeof reason === "string" ? reason : this.detail;
  }
}

/** The hub could not be reached at all (no answer: the browser's "Failed to fetch"). */
export class Unreachable extends Error {
  constructor(readonly cause: unknown) {
    super("the hub cannot be reached");
  }
}

const reachListeners = new Set<(reached: boolean) => void>();

/** Hear whether the hub answered (true) or could not be reached (false), request by request. */
export function onReach(fn: (reached: boolean) => void): () => void {
  reachListeners.add(fn);
  return () => reachListeners.delete(fn);
}

function reached(yes: boolean): void {
  for (const fn of reachListeners) fn(yes);
}

/** `fetch`, with no answer at all turned into `Unreachable` and heard by `onReach`. */
async function call(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    reached(false);
    throw new Unreachable(exc);
  }
  // A proxy in front of the hub answers 502-504 when the hub is away.
  reached(response.status < 502 || response.status > 504);
  return response;
}

const SESSION_KEY = "carhome.session";
const sessionListeners = new Set<() => void>();

export function session(): Session | null {
  const raw = localStorage.getItem(SESSION_KEY);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

function keep(next: Session | null): void {
  if (next === null) localStorage.removeItem(SESSION_KEY);
  else localStorage.setItem(SESSION_KEY, JSON.stringify(next));
  for (const fn of sessionListeners) fn();
}

export function onSession(fn: () => void): () => void {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

async function problem(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // not JSON: the status line is all there is
  }
  const detail = typeof body["detail"] === "string" ? body["detail"] : response.statusText;
  return new ApiError(response.status, detail, body);
}

export async function login(member: string, password: string): Promise<Session> {
  const response = await call("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ member, password }),
  });
  if (!response.ok) throw await problem(response);
  const next = (await response.json()) as Session;
  keep(next);
  return next;
}

/** Make the hub's first owner with the setup code it printed; the app is then logged in as them. */
export async function firstOwner(owner: FirstOwner): Promise<Session> {
  const response = await call("/api/setup/owner", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(owner),
  });
  if (!response.ok) throw await problem(response);
  const next = (await response.json()) as Session;
  keep(next);
  return next;
}

let refreshing: Promise<boolean> | null = null;

/** Trade the refresh token for new tokens (once, however many requests ask at the same time). */
export function refresh(): Promise<boolean> {
  const current = session();
  if (current === null) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const response = await call("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh: current.refresh_token }),
      });
      if (!response.ok) {
        keep(null);
        return false;
      }
      keep((await response.json()) as Session);
      return true;
    } catch (exc) {
      // No answer says nothing about the tokens: keep them, and try again when it answers.
      if (exc instanceof Unreachable) return true;
      throw exc;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout(): Promise<void> {
  const current = session();
  if (current !== null) {
    // Best effort: the hub ends the session; the tokens are forgotten here whatever it says.
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${current.access_token}` },
    }).catch(() => undefined);
  }
  keep(null);
}

/** A JSON request to the hub as the logged-in member. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const current = session();
    const headers: Record<string, string> = {};
    if (current !== null) headers["Authorization"] = `Bearer ${current.access_token}`;
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await call(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (response.status === 401 && attempt === 0 && (await refresh())) continue;
    if (response.status === 401) keep(null);
    if (!response.ok) throw await problem(response);
    return (await response.json()) as T;
  }
}
