// One device, drawn from its spec: every property with its unit and live value, the
// writable ones editable, every action a button (with its arguments), and the lifecycle of
// each command sent from here.
import { useState } from "preact/hooks";
import type { ActionOut, DeviceOut, PropertyOut } from "../api";
import { CommandStatus } from "../components/CommandStatus";
import { writable } from "../components/Controls";
import { age, label, show, unit } from "../format";
import { t } from "../i18n";
import { Link } from "../router";
import { send, useModel } from "../store";

const NUMBERS = new Set(["int", "float", "uint8", "int32", "uint32", "double"]);

/** Text from an input turned into the property's format (the hub checks it again). */
function parse(prop: PropertyOut, text: string): unknown {
  if (prop.format === "bool") return text === "true";
  if (NUMBERS.has(prop.format)) return prop.format === "int" ? Number.parseInt(text, 10) : Number(text);
  return text;
}

function Field({ prop, value, onInput }: { prop: PropertyOut; value: string; onInput: (v: string) => void }) {
  const name = `${prop.name}`;
  if (prop.allowed !== null) {
    return (
      <select name={name} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        {prop.allowed.map((a) => (
          <option key={a} value={a}>
            {a}
          </option>
        ))}
      </select>
    );
  }
  if (prop.format === "bool") {
    return (
      <select name={name} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="true">{t("common.yes")}</option>
        <option value="false">{t("common.no")}</option>
      </select>
    );
  }
  const numeric = NUMBERS.has(prop.format);
  return (
    <input
      name={name}
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
      <Field prop={prop} value={shown} onInput={setText} />
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
      <button type="submit" title={action.description} data-action={action.name}>
        {action.name.replace(/_/g, " ")}
      </button>
      {action.args.map((arg) => (
        <label key={arg.name} class="arg">
          {arg.name}
          {arg.unit ? ` (${unit(arg.unit)})` : ""}
          <Field
            prop={arg}
            value={args[arg.name] ?? ""}
            onInput={(v) => setArgs({ ...args, [arg.name]: v })}
          />
        </label>
      ))}
      {action.domain !== null && <span class="badge">{action.domain}</span>}
    </form>
  );
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
        {device.name} <span class="muted">· {spec.title}</span>
      </h1>
      <p class="muted">{spec.description}</p>
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
                <code>{label(e.target)}</code> <CommandStatus entry={e} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="card">
        <h2>{t("device.properties")}</h2>
        <table class="props">
          <thead>
            <tr>
              <th>{t("device.col.property")}</th>
              <th>{t("device.col.value")}</th>
              <th>{t("device.col.access")}</th>
              <th>{t("device.col.edit")}</th>
            </tr>
          </thead>
          <tbody>
            {spec.properties.map((p) => {
              const entry = state[p.name];
              return (
                <tr key={p.name} data-prop={p.name}>
                  <td title={`${p.name}\n${p.description}`}>
                    {label(p.name)}
                    {p.unit ? <span class="muted"> ({unit(p.unit)})</span> : null}
                  </td>
                  <td class="value" title={entry ? t("device.updated", { age: age(now - entry.ts) }) : ""}>
                    {show(entry?.value, p.unit)}
                  </td>
                  <td class="muted">{p.access.join(", ")}</td>
                  <td>{writable(p) && <Editor device={device} prop={p} current={entry?.value} />}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </main>
  );
}
