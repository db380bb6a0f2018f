// One device, drawn from its spec: every property with its unit and live value, the
// writable ones editable, every action a button (with its arguments), and the lifecycle of
// each command sent from here.
import { useState } from "preact/hooks";
import type { ActionOut, DeviceOut, PropertyOut } from "../api";
import { CommandStatus } from "../components/CommandStatus";
import { writable } from "../components/Controls";
import { age, show, unit } from "../format";
import { t, type MessageKey } from "../i18n";
import { actionLabel, argLabel, propLabel, targetLabel, typeDescription, typeTitle, valueLabel } from "../i18n/spec";
import { en } from "../i18n/en";
import { Link } from "../router";
import { send, useModel } from "../store";
import { Head } from "../components/Head";

const NUMBERS = new Set(["int", "float", "uint8", "int32", "uint32", "double"]);

/** Text from an input turned into the property's format (the hub checks it again). */
function parse(prop: PropertyOut, text: string): unknown {
  if (prop.format === "bool") return text === "true";
  if (NUMBERS.has(prop.format)) return prop.format === "int" ? Number.parseInt(text, 10) : Number(text);
  return text;
}

/** The name of a property, action or argument as the tables have it, else its id in code. */
export function Name({ text, id }: { text: string | null; id: string }) {
  return text === null ? <code>{id}</code> : <>{text}</>;
}

function Field({
  type,
  prop,
  value,
  onInput,
  label,
}: {
  type: string;
  prop: PropertyOut;
  value: string;
  onInput: (v: string) => void;
  label: string;
}) {
  const name = `${prop.name}`;
  if (prop.allowed !== null) {
    return (
      <select name={name} aria-label={label} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        {prop.allowed.map((a) => (
          <option key={a} value={a}>
            {valueLabel(type, prop.name, a) ?? a}
          </option>
        ))}
      </select>
    );
  }
  if (prop.format === "bool") {
    return (
      <select name={name} aria-label={label} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="true">{valueLabel(type, prop.name, true) ?? t("common.yes")}</option>
        <option value="false">{valueLabel(type, prop.name, false) ?? t("common.no")}</option>
      </select>
    );
  }
  const numeric = NUMBERS.has(prop.format);
  return (
    <input
      name={name}
      aria-label={label}
      type={numeric ? "number" : "text"}
      step={prop.format === "int" ? 1 : "any"}
      min={prop.minimum ?? undefined}
      max={prop.maximum ?? undefined}
      value={value}
      onInput={(e) => onInput(e.currentTarget.value)}
    />
  );
}

function Editor({ device, prop, current }: { device: DeviceOut; prop: PropertyOut; current: unknown }) {
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (current === undefined || current === null ? "" : String(current));
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        void send(device.id, "set", prop.name, { value: parse(prop, shown) });
        setText(null);
      }}
    >
      <Field
        type={device.type}
        prop={prop}
        value={shown}
        onInput={setText}
        label={propLabel(device.type, prop.name) ?? prop.name}
      />
      <button type="submit">{t("common.set")}</button>
    </form>
  );
}

function ActionForm({ device, action }: { device: DeviceOut; action: ActionOut }) {
  const [args, setArgs] = useState<Record<string, string>>({});
  return (
    <form
      class="inline action"
      onSubmit={(e) => {
        e.preventDefault();
        const values: Record<string, unknown> = {};
        for (const arg of action.args) {
          const text = args[arg.name];
          if (text === undefined || text === "") continue; // optional ones may be left out
          values[arg.name] = parse(arg, text);
        }
        void send(device.id, "action", action.name, values);
      }}
    >
      <button type="submit" data-action={action.name}>
        <Name text={actionLabel(device.type, action.name)} id={action.name} />
      </button>
      {action.args.map((arg) => {
        const name = argLabel(device.type, arg.name);
        return (
          <label key={arg.name} class="arg">
            <Name text={name} id={arg.name} />
            {arg.unit ? ` (${unit(arg.unit)})` : ""}
            <Field
              type={device.type}
              prop={arg}
              value={args[arg.name] ?? ""}
              onInput={(v) => setArgs({ ...args, [arg.name]: v })}
              label={name ?? arg.name}
            />
          </label>
        );
      })}
      {action.domain !== null && <span class="badge">{scopeName(action.domain)}</span>}
    </form>
  );
}

/** A safety domain's name (car doors, the garage …), else its id. */
function scopeName(domain: string): string {
  const key = `scope.${domain}`;
  return key in en ? t(key as MessageKey) : domain;
}

export function DevicePage({ home, id }: { home: string; id: string }) {
  const model = useModel();
  const device = model.devices.find((d) => d.home === home && d.id === id);
  const spec = model.specs[id];
  if (device === undefined || spec === undefined) {
    return (
      <main class="page">
        <p>{model.loaded ? t("device.notfound") : t("common.loading")}</p>
      </main>
    );
  }
  const state = model.state[id] ?? {};
  const now = Date.now() / 1000;
  const mine = model.tracked.filter((e) => e.device === id);
  return (
    <main class="page device-page" data-device={id}>
      <p>
        <Link to="/">← {t("common.back")}</Link>
      </p>
      <h1>
        {device.name} <span class="muted">· {typeTitle(device.type) ?? spec.title}</span>
      </h1>
      {typeDescription(device.type) !== null && <p class="muted">{typeDescription(device.type)}</p>}
      {spec.actions.length > 0 && (
        <section class="card">
          <h2>{t("device.actions")}</h2>
          {spec.actions.map((a) => (
            <ActionForm key={a.name} device={device} action={a} />
          ))}
        </section>
      )}
      {mine.length > 0 && (
        <section class="card">
          <h2>{t("device.commands")}</h2>
          <ul class="commands">
            {mine.map((e) => (
              <li key={e.key} data-target={e.target}>
                <span class="command-target">{targetLabel(device.type, e.target)}</span> <CommandStatus entry={e} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="card">
        <h2>{t("device.properties")}</h2>
        <table class="props stack">
          <Head cols={["device.col.property", "device.col.value", "device.col.access", "device.col.edit"]} />
          <tbody>
            {spec.properties.map((p) => {
              const entry = state[p.name];
              return (
                <tr key={p.name} data-prop={p.name}>
                  <td class="prop-name" title={p.name} data-label={t("device.col.property")}>
                    <Name text={propLabel(device.type, p.name)} id={p.name} />
                  </td>
                  <td
                    class="value"
                    data-label={t("device.col.value")}
                    title={entry ? t("device.updated", { age: age(now - entry.ts) }) : ""}
                  >
                    {show(entry?.value, p.unit, device.type, p.name)}
                  </td>
                  <td class="muted access" data-label={t("device.col.access")}>
                    {p.access.map((a) => (a === "read" || a === "write" || a === "notify" ? t(`access.${a}`) : a)).join(t("common.comma"))}
                  </td>
                  <td data-label={t("device.col.edit")} class={writable(p) ? "edit" : "edit empty"}>
                    {writable(p) && <Editor device={device} prop={p} current={entry?.value} />}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </main>
  );
}
