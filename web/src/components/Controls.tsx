// A device's quick controls, chosen from its spec (no code per device type): a switch for
// a writable `on`, a stepper for its first writable number with bounds, and buttons for
// actions that take no arguments when it has no switch.
import type { DeviceOut, PropertyOut, SpecOut } from "../api";
import { number, unit } from "../format";
import { t } from "../i18n";
import { actionLabel, propLabel } from "../i18n/spec";
import { lastCommand, send, useModel } from "../store";
import { CommandStatus } from "./CommandStatus";

const NUMERIC = new Set(["int", "float", "uint8", "int32", "uint32", "double"]);
const MAX_BUTTONS = 3;

export function writable(p: PropertyOut): boolean {
  return p.access.includes("write");
}

export function setPoint(spec: SpecOut): PropertyOut | undefined {
  return spec.properties.find(
    (p) => writable(p) && p.name !== "on" && NUMERIC.has(p.format) && p.minimum !== null && p.maximum !== null,
  );
}

function step(p: PropertyOut): number {
  return p.format === "float" && p.maximum !== null && p.minimum !== null && p.maximum - p.minimum <= 40
    ? 0.5
    : p.maximum !== null && p.minimum !== null && p.maximum - p.minimum > 100
      ? 100
      : 1;
}

export function Switch({ device, big = false }: { device: DeviceOut; big?: boolean }) {
  const model = useModel();
  const on = model.state[device.id]?.["on"]?.value === true;
  return (
    <button
      type="button"
      role="switch"
      aria-checked={on}
      aria-label={device.name}
      class={`switch ${on ? "on" : ""} ${big ? "big" : ""}`}
      onClick={() => void send(device.id, "set", "on", { value: !on })}
    >
      <span class="knob" />
      <span class="switch-text">{on ? t("common.on") : t("common.off")}</span>
    </button>
  );
}

export function Stepper({ device, prop, big = false }: { device: DeviceOut; prop: PropertyOut; big?: boolean }) {
  const model = useModel();
  const current = model.state[device.id]?.[prop.name]?.value;
  const value = typeof current === "number" ? current : (prop.minimum ?? 0);
  const d = step(prop);
  const clamp = (v: number) => Math.min(prop.maximum ?? v, Math.max(prop.minimum ?? v, v));
  const put = (v: number) => void send(device.id, "set", prop.name, { value: prop.format === "int" ? Math.round(v) : v });
  const name = propLabel(device.type, prop.name) ?? prop.name;
  return (
    <span class={`stepper ${big ? "big" : ""}`} data-prop={prop.name}>
      <button type="button" aria-label={`${name} −`} onClick={() => put(clamp(value - d))}>
        −
      </button>
      <span class="stepper-value">
        {number(value, Number.isInteger(value) ? 0 : 1, Number.isInteger(value) ? 0 : 1)}
        {unit(prop.unit) === "" ? "" : ` ${unit(prop.unit)}`}
      </span>
      <button type="button" aria-label={`${name} +`} onClick={() => put(clamp(value + d))}>
        +
      </button>
    </span>
  );
}

export function ActionButtons({ device, spec, big = false }: { device: DeviceOut; spec: SpecOut; big?: boolean }) {
  const simple = spec.actions.filter((a) => a.args.length === 0).slice(0, MAX_BUTTONS);
  return (
    <span class="actions">
      {simple.map((a) => (
        <button
          type="button"
          key={a.name}
          class={big ? "big" : ""}
          data-action={a.name}
          onClick={() => void send(device.id, "action", a.name)}
        >
          {actionLabel(device.type, a.name) ?? <code>{a.name}</code>}
        </button>
      ))}
    </span>
  );
}

/** The controls of one device for the overview, with its last command's progress. */
export function QuickControls({ device }: { device: DeviceOut }) {
  const model = useModel();
  const spec = model.specs[device.id];
  if (spec === undefined) return null;
  const hasSwitch = spec.properties.some((p) => p.name === "on" && writable(p) && p.format === "bool");
  // a set point the device has never reported is not offered here (it would start from a
  // made-up value; an inverter without a power limit reports none): the detail page sets it
  const found = setPoint(spec);
  const point = typeof model.state[device.id]?.[found?.name ?? ""]?.value === "number" ? found : undefined;
  const last = lastCommand(device.id);
  return (
    <div class="controls">
      {hasSwitch && <Switch device={device} />}
      {point !== undefined && <Stepper device={device} prop={point} />}
      {!hasSwitch && <ActionButtons device={device} spec={spec} />}
      {last !== undefined && <CommandStatus entry={last} />}
    </div>
  );
}
