// This browser's key ring in IndexedDB: the key (two non-extractable CryptoKeys and the
// public point) and, per device it enrolled on, the device key pinned then. IndexedDB
// keeps CryptoKeys as they are, so the private key never exists as bytes a script can
// read; it stays in this browser profile for this origin until removed.
import type { Bytes } from "./bytes";
import { generateKey, type KeyPair } from "./crypto";
import type { Role } from "./protocol";

const DB = "carhome-signing";
const VERSION = 1;
const KEYS = "keys";
const PINS = "pins";
const MINE = "browser";

/** A device's key as this browser saw it when it enrolled there. */
export interface Pin {
  home: string;
  device: string;
  deviceKey: Bytes;
  member: string;
  role: Role;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, VERSION);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(KEYS);
      r.result.createObjectStore(PINS);
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => {
      opened = null;
      reject(r.error ?? new Error("cannot open this browser's key store (IndexedDB)"));
    };
  });
  return opened;
}

async function store(name: string, mode: IDBTransactionMode): Promise<IDBObjectStore> {
  return (await db()).transaction(name, mode).objectStore(name);
}

/** This browser's key, or null when none was made here. */
export async function browserKey(): Promise<KeyPair | null> {
  const found = (await request((await store(KEYS, "readonly")).get(MINE))) as KeyPair | undefined;
  return found ?? null;
}

/** Make this browser's key; an existing key is never replaced (remove it first). */
export async function createBrowserKey(): Promise<KeyPair> {
  const existing = await browserKey();
  if (existing !== null) return existing;
  const key = await generateKey();
  await request((await store(KEYS, "readwrite")).add(key, MINE));
  return key;
}

/** Forget this browser's key and its pins (revoke it on the devices first). */
export async function forgetBrowserKey(): Promise<void> {
  await request((await store(KEYS, "readwrite")).delete(MINE));
  await request((await store(PINS, "readwrite")).clear());
}

export async function pinned(home: string, device: string): Promise<Pin | null> {
  const found = (await request((await store(PINS, "readonly")).get(`${home}/${device}`))) as Pin | undefined;
  return found ?? null;
}

export async function pin(p: Pin): Promise<void> {
  await request((await store(PINS, "readwrite")).put(p, `${p.home}/${p.device}`));
}

export async function unpin(home: string, device: string): Promise<void> {
  await request((await store(PINS, "readwrite")).delete(`${home}/${device}`));
}

export async function pins(): Promise<Pin[]> {
  return (await request((await store(PINS, "readonly")).getAll())) as Pin[];
}
