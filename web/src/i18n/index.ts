// The language switch: messages from the two catalogs, the choice kept in localStorage.
import type { ComponentChild } from "preact";
import { en, type MessageKey } from "./en";

export type { MessageKey };
import { zh } from "./zh";

export type Lang = "en" | "zh";
const catalogs = { en, zh } as const;
const KEY = "carhome.lang";

function initial(): Lang {
  const saved = localStorage.getItem(KEY);
  if (saved === "en" || saved === "zh") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current: Lang = initial();
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  for (const fn of listeners) fn();
}

export function onLang(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The message `key` in the current language, with `{name}` filled from `params`. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = catalogs[current][key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The message `key` with `{name}` filled by elements (an id in a code element …), for
 * messages whose values are not words of the language. */
export function tx(key: MessageKey, params: Record<string, ComponentChild>): ComponentChild[] {
  const text = catalogs[current][key];
  const out: ComponentChild[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    const name = m[1] ?? "";
    out.push(text.slice(last, m.index));
    out.push(name in params ? params[name] : m[0]);
    last = (m.index ?? 0) + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

/** A room's name: from the catalog when carhome knows the word, else made readable. */
export function roomName(room: string | null): string {
  if (room === null) return t("room.other");
  const key = `room.${room}`;
  if (key in en) return t(key as MessageKey);
  return room.replace(/_/g, " ");
}
