// The words for what the hub's device specs name as data: device types, properties,
// actions, their arguments, enum values (and what a boolean means for each property),
// events and units. The tables are JSON (spec/en.json, spec/zh.json) so a test can hold
// them to every spec the hub serves; a name the tables lack is shown as the hub's own id.
import enSpec from "./spec/en.json";
import zhSpec from "./spec/zh.json";
import { lang } from "./index";

interface TypeWords {
  title: string;
  description: string;
  properties: Record<string, string>;
  actions: Record<string, string>;
  args: Record<string, string>;
  values: Record<string, Record<string, string>>;
  events: Record<string, string>;
  fields: Record<string, string>;
}

interface SpecWords {
  units: Record<string, string>;
  types: Record<string, TypeWords>;
}

const tables: Record<"en" | "zh", SpecWords> = { en: enSpec, zh: zhSpec };

function words(type: string): TypeWords | undefined {
  return tables[lang()].types[type];
}

/** The device type's name (the spec's own title where the tables lack the type). */
export function typeTitle(type: string): string | null {
  return words(type)?.title ?? null;
}

export function typeDescription(type: string): string | null {
  const text = words(type)?.description;
  return text === undefined || text === "" ? null : text;
}

/** A property's label, or null when the tables do not know it (show its id then). */
export function propLabel(type: string, name: string): string | null {
  return words(type)?.properties[name] ?? null;
}

export function actionLabel(type: string, name: string): string | null {
  return words(type)?.actions[name] ?? null;
}

export function argLabel(type: string, name: string): string | null {
  return words(type)?.args[name] ?? null;
}

/** What `value` of property (or argument) `name` means: an enum value or a boolean. */
export function valueLabel(type: string, name: string, value: string | boolean): string | null {
  return words(type)?.values[name]?.[String(value)] ?? null;
}

/** A unit's symbol in the current language ("min" is 分钟 in Chinese). */
export function unitSymbol(unit: string): string | null {
  return tables[lang()].units[unit] ?? null;
}

/** What a command was about, in words: the action's or the property's label, else its id. */
export function targetLabel(type: string, target: string): string {
  return actionLabel(type, target) ?? propLabel(type, target) ?? target;
}
