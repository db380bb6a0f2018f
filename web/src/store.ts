// The app's live model of the home: devices with their specs and state, kept current by
// the hub's WebSocket, and the commands this browser sent, followed to their end.
import { useEffect, useState } from "preact/hooks";
import {
  api,
  ApiError,
  onReach,
  refresh,
  session,
  type Command,
  type DeviceDetail,
  type DeviceOut,
  type HomeOut,
  type SpecOut,
  type StateEntry,
} from "./api";
import { setHomeZone } from "./format";
import { describe } from "./problems";
import { KeyNeeded, submitCommand } from "./signing/send";

export type LiveStatus = "connecting" | "live" | "offline";

/** A command as this browser saw it: refused at once (`problem`), or followed by id. */
export interface Tracked {
  key: number;
  device: string;
  target: string;
  command: Command | null;
  /** `enroll`: the device this browser's key would have to be enrolled on to be let through. */
  problem: { status: number; reason: string; enroll?: string } | null;
}

export interface Model {
  home: HomeOut | null;
  devices: DeviceOut[];
  specs: Record<string, SpecOut>;
  state: Record<string, Record<string, StateEntry>>;
  tracked: Tracked[];
  /** The car's positions seen since the page loaded: [lat, lon]. */
  track: [number, number][];
  live: LiveStatus;
  /** Whether the hub answers: false from a closed live connection or a request with no
   * answer until it answers again. Controls are off while it is false. */
  reachable: boolean;
  loaded: boolean;
  error: string | null;
}

const TRACK_POINTS = 500;
const TRACKED = 20;
export const LAT = "Vehicle.CurrentLocation.Latitude";
export const LON = "Vehicle.CurrentLocation.Longitude";

let model: Model = empty();
const listeners = new Set<() => void>();

onReach((reached) => {
  if (model.reachable !== reached && started) update({ reachable: reached });
});

function empty(): Model {
  return {
    home: null,
    devices: [],
    specs: {},
    state: {},
    tracked: [],
    track: [],
    live: "connecting",
    reachable: true,
    loaded: false,
    error: null,
  };
}

function update(change: Partial<Model>): void {
  model = { ...model, ...change };
  for (const fn of listeners) fn();
}

/** The model, re-rendering the component when it changes. */
export function useModel(): Model {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const fn = () => setVersion((v) => v + 1);
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return model;
}

export function value(device: string, prop: string): unknown {
  return model.state[device]?.[prop]?.value;
}

function carId(): string | null {
  return model.devices.find((d) => d.type === "car")?.id ?? null;
}

function addTrackPoint(): void {
  const car = carId();
  if (car === null) return;
  const lat = model.state[car]?.[LAT]?.value;
  const lon = model.state[car]?.[LON]?.value;
  if (typeof lat !== "number" || typeof lon !== "number") return;
  const last = model.track[model.track.length - 1];
  if (last !== undefined && last[0] === lat && last[1] === lon) return;
  model.track = [...model.track, [lat, lon] as [number, number]].slice(-TRACK_POINTS);
}

// A position arrives as two changes (latitude, longitude), one frame each, back to back;
// waiting this long makes them one point instead of a staircase.
const TRACK_SETTLE_MS = 50;
let trackTimer: ReturnType<typeof setTimeout> | null = null;

function trackSoon(): void {
  trackTimer ??= setTimeout(() => {
    trackTimer = null;
    addTrackPoint();
    update({});
  }, TRACK_SETTLE_MS);
}

// -- loading and the live connection ------------------------------------------------------

let socket: WebSocket | null = null;
let retry = 0;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let started = false;
// The longest wait between two tries to reach the hub again.
const RETRY_MAX_MS = 8000;

/** Load the home and its devices, then follow them live. Called once after login. */
export async function start(): Promise<void> {
  if (started) return;
  started = true;
  try {
    const homes = await api<HomeOut[]>("/api/homes");
    const home = homes[0] ?? null;
    const devices = await api<DeviceOut[]>(home === null ? "/api/devices" : `/api/devices?home=${home.id}`);
    const details = await Promise.all(
      devices.map((d) => api<DeviceDetail>(`/api/devices/${d.home}/${d.id}`)),
    );
    const specs: Record<string, SpecOut> = {};
    const state: Record<string, Record<string, StateEntry>> = {};
    for (const detail of details) {
      specs[detail.device.id] = detail.spec;
      state[detail.device.id] = detail.state;
    }
    setHomeZone(home?.timezone);
    update({ home, devices, specs, state, loaded: true, error: null });
    addTrackPoint();
    connect();
  } catch (exc) {
    started = false;
    update({ error: describe(exc) });
  }
}

/** Read every device's state again, keeping per property the newer of it and what the
 * WebSocket brought meanwhile: a change between the first read and the subscription (or a
 * reconnect) is not missed. */
async function resync(): Promise<void> {
  const details = await Promise.all(
    model.devices.map((d) => api<DeviceDetail>(`/api/devices/${d.home}/${d.id}`)),
  );
  const state = { ...model.state };
  for (const detail of details) {
    const props = { ...(state[detail.device.id] ?? {}) };
    for (const [name, entry] of Object.entries(detail.state)) {
      if ((props[name]?.ts ?? -Infinity) <= entry.ts) props[name] = entry;
    }
    state[detail.device.id] = props;
  }
  model.state = state;
  update({});
}

/** Forget everything (on logout), closing the live connection. */
export function stop(): void {
  started = false;
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
  const open = socket;
  socket = null;
  open?.close(1000, "logged out");
  model = empty();
  for (const fn of listeners) fn();
}

interface Frame {
  type: string;
  device?: string;
  property?: string;
  value?: unknown;
  ts?: number;
  command?: Command;
  detail?: string;
}

function connect(): void {
  const current = session();
  if (current === null || !started) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
  socket = ws;
  update({ live: "connecting" });
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: current.access_token }));
  ws.onmessage = (message) => {
    const frame = JSON.parse(String(message.data)) as Frame;
    if (frame.type === "ready") {
      retry = 0;
      update({ reachable: true });
      ws.send(JSON.stringify({ type: "subscribe" }));
    } else if (frame.type === "subscribed" || frame.type === "dropped") {
      // what changed before the subscription took (or in frames the hub dropped) comes
      // from a fresh read; the page is live once it has it
      void resync()
        .catch(() => undefined) // no answer: the hub is marked unreachable, the socket will close
        .finally(() => {
        if (socket === ws) update({ live: "live" });
      });
    } else if (frame.type === "state" && frame.device !== undefined && frame.property !== undefined) {
      const device = frame.device;
      const props = { ...(model.state[device] ?? {}) };
      props[frame.property] = { value: frame.value, ts: frame.ts ?? 0 };
      model.state = { ...model.state, [device]: props };
      if (frame.property === LAT || frame.property === LON) trackSoon();
      update({});
    } else if (frame.type === "command" && frame.command !== undefined) {
      noteCommand(frame.command);
    }
  };
  ws.onclose = (event) => {
    if (socket !== ws) return; // replaced or logged out
    socket = null;
    // 4401: the token expired or was revoked; a refresh tells which. Anything else: the
    // hub (or the way to it) went away.
    update({ live: "offline", reachable: event.code === 4401 ? model.reachable : false });
    const again = event.code === 4401 ? refresh() : Promise.resolve(true);
    void again.then((ok) => {
      if (!ok || !started) return;
      retry = Math.min(retry + 1, 6);
      retryTimer = setTimeout(reconnect, Math.min(250 * 2 ** retry, RETRY_MAX_MS));
    });
  };
}

function reconnect(): void {
  retryTimer = null;
  if (socket === null) connect();
}

/** Try to reach the hub now instead of at the next scheduled try. */
export function retryNow(): void {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retry = 0;
  reconnect();
}

// -- commands -----------------------------------------------------------------------------

let nextKey = 1;

function isFinal(command: Command): boolean {
  return command.status === "acked" || command.status === "failed" || command.status === "expired";
}

function noteCommand(command: Command): void {
  let changed = false;
  const tracked = model.tracked.map((entry) => {
    if (entry.command?.id !== command.id) return entry;
    // A late non-final copy (the POST answer after the WebSocket's result) changes nothing.
    if (entry.command !== null && isFinal(entry.command) && !isFinal(command)) return entry;
    changed = true;
    return { ...entry, command };
  });
  if (changed) update({ tracked });
}

function replaceTracked(key: number, change: Partial<Tracked>): void {
  update({ tracked: model.tracked.map((e) => (e.key === key ? { ...e, ...change } : e)) });
}

/** Send a command as the logged-in member and follow it: the POST answers queued or sent,
 * the WebSocket brings the result; a long poll on the command covers a lost socket. */
export async function send(
  device: string,
  kind: "set" | "action",
  target: string,
  args: Record<string, unknown> = {},
): Promise<Tracked> {
  const home = model.devices.find((d) => d.id === device)?.home ?? model.home?.id ?? "";
  const key = nextKey++;
  const entry: Tracked = { key, device, target, command: null, problem: null };
  update({ tracked: [entry, ...model.tracked].slice(0, TRACKED) });
  try {
    const command = await submitCommand(home, device, model.specs[device], kind, target, args);
    const known = model.tracked.find((e) => e.key === key);
    if (known?.command === null) replaceTracked(key, { command });
    noteCommand(command);
    if (!isFinal(command)) void poll(command.id);
  } catch (exc) {
    const reason = describe(exc);
    const status = exc instanceof ApiError ? exc.status : 0;
    const enroll = exc instanceof KeyNeeded ? exc.enroll : undefined;
    replaceTracked(key, { problem: { status, reason, enroll } });
  }
  return model.tracked.find((e) => e.key === key) ?? entry;
}

/** Follow a command the hub submitted for this page (a scene's, a request in words'): it
 * joins the tracked commands and is followed as one the page sent itself. */
export function track(command: Command): Tracked {
  const entry: Tracked = { key: nextKey++, device: command.device, target: command.target, command, problem: null };
  update({ tracked: [entry, ...model.tracked].slice(0, TRACKED) });
  if (!isFinal(command)) void poll(command.id);
  return entry;
}

const POLL_ROUNDS = 10;

/** Long polls on a command until it is final (or the WebSocket has brought its result). */
async function poll(id: string): Promise<void> {
  for (let round = 0; round < POLL_ROUNDS; round++) {
    const known = model.tracked.find((e) => e.command?.id === id)?.command;
    if (known === undefined || known === null || isFinal(known)) return;
    try {
      noteCommand(await api<Command>(`/api/commands/${encodeURIComponent(id)}?wait=30`));
    } catch {
      return; // the WebSocket may still bring it; nothing to show for a failed poll
    }
  }
}

/** The latest command sent to `device` for `target` (any target when omitted). */
export function lastCommand(device: string, target?: string): Tracked | undefined {
  return model.tracked.find((e) => e.device === device && (target === undefined || e.target === target));
}
