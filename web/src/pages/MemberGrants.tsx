// The owner's forms on the Members page: a new member, and a guest's grant (new or
// changed): which devices, which of their actions and settable properties, from when
// until when, how many times. The hub checks everything; a refusal names the field it
// is about, and the message is shown under that field.
import { useState } from "preact/hooks";
import { api, type Grant } from "../api";
import { fromZonedInput, zone, zonedInput, zoneName } from "../format";
import { t, tx } from "../i18n";
import { useModel } from "../store";
import { refusal, useSubmit, type Refusal } from "../submit";
import { FieldError } from "../components/Field";
import { targetLabel } from "../i18n/spec";

const ANY = "*";
const HOUR = 3600;

// The window's times are read and written on the home's wall clock, not this browser's.
const localInput = (epoch: number) => zonedInput(epoch);

/** The form's leftover refusal: one that names no field the form shows. */
function FormError({ problem, fields }: { problem: Refusal | null; fields: string[] }) {
  if (problem === null || (problem.field !== null && fields.includes(problem.field))) return null;
  return (
    <p class="field-error" role="alert" data-field-error="form">
      {problem.reason}
    </p>
  );
}

export function GrantEditor({
  member,
  grant,
  onDone,
  onCancel,
}: {
  member: string;
  grant: Grant | null;
  onDone: () => void;
  onCancel: () => void;
}) {
  const model = useModel();
  const now = Math.floor(Date.now() / 1000);
  const [devices, setDevices] = useState<string[]>(grant?.devices ?? []);
  const [targets, setTargets] = useState<string[]>(grant?.targets ?? []);
  const [starts, setStarts] = useState(localInput(grant?.starts ?? now));
  const [ends, setEnds] = useState(localInput(grant?.ends ?? now + 24 * HOUR));
  const [uses, setUses] = useState(grant?.uses == null ? "" : String(grant.uses));
  const { busy, problem, run } = useSubmit(refusal);
  // what the chosen devices offer: their actions and the properties that can be set
  const offered = new Set<string>();
  // a target's words: from the first chosen device whose type knows it
  const typeOf = new Map<string, string>();
  for (const id of devices) {
    const spec = model.specs[id];
    const type = model.devices.find((d) => d.id === id)?.type ?? "";
    for (const a of spec?.actions ?? []) {
      offered.add(a.name);
      if (!typeOf.has(a.name)) typeOf.set(a.name, type);
    }
    for (const p of spec?.properties ?? []) {
      if (!p.access.includes("write")) continue;
      offered.add(p.name);
      if (!typeOf.has(p.name)) typeOf.set(p.name, type);
    }
  }
  for (const target of targets) offered.add(target);
  const toggle = (list: string[], item: string) =>
    list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
  const path = `/api/members/${encodeURIComponent(member)}/grants`;

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    const body: Record<string, unknown> = {
      devices,
      targets,
      starts: fromZonedInput(starts),
      ends: fromZonedInput(ends),
    };
    if (uses.trim() !== "") body["uses"] = Number(uses);
    await run(async () => {
      if (grant === null) await api<Grant>(path, { method: "POST", body });
      else await api<Grant>(`${path}/${encodeURIComponent(grant.id)}`, { method: "PUT", body });
      onDone();
    });
  }

  return (
    <section class="card" data-testid="grant-editor">
      <h2>
        {grant === null
          ? tx("charts.grant.new.title", { member: <code>{member}</code> })
          : tx("charts.grant.edit.title", { member: <code>{member}</code>, grant: <code>{grant.id}</code> })}
      </h2>
      <form class="form-grid" onSubmit={(e) => void save(e)}>
        <span>{t("charts.grant.devices")}</span>
        <div>
          <div class="checks" role="group" aria-label={t("charts.grant.devices")}>
            {model.devices.map((d) => (
              <label key={d.id}>
                <input
                  type="checkbox"
                  name="device"
                  value={d.id}
                  checked={devices.includes(d.id)}
                  onChange={() => setDevices((list) => toggle(list, d.id))}
                />
                {d.name}
              </label>
            ))}
          </div>
          <FieldError problem={problem} field="devices" />
        </div>
        <span>{t("charts.grant.targets")}</span>
        <div>
          <div class="checks" role="group" aria-label={t("charts.grant.targets")}>
            {devices.length === 0 && <span class="muted">{t("charts.grant.pickDevice")}</span>}
            {devices.length > 0 && (
              <label>
                <input
                  type="checkbox"
                  name="target"
                  value={ANY}
                  checked={targets.includes(ANY)}
                  onChange={() => setTargets((list) => toggle(list, ANY))}
                />
                {t("charts.grant.any")}
              </label>
            )}
            {[...offered]
              .filter((x) => x !== ANY)
              .sort()
              .map((target) => (
                <label key={target}>
                  <input
                    type="checkbox"
                    name="target"
                    value={target}
                    data-target={target}
                    checked={targets.includes(target)}
                    onChange={() => setTargets((list) => toggle(list, target))}
                  />
                  {targetLabel(typeOf.get(target) ?? "", target) === target ? (
                    <code>{target}</code>
                  ) : (
                    <span title={target}>{targetLabel(typeOf.get(target) ?? "", target)}</span>
                  )}
                </label>
              ))}
          </div>
          <FieldError problem={problem} field="targets" />
        </div>
        <label for="grant-starts">{t("charts.grant.starts")}</label>
        <div>
          <input
            id="grant-starts"
            type="datetime-local"
            value={starts}
            aria-invalid={problem?.field === "starts"}
            onInput={(e) => setStarts(e.currentTarget.value)}
          />
          <FieldError problem={problem} field="starts" />
        </div>
        <label for="grant-ends">{t("charts.grant.ends")}</label>
        <div>
          <input
            id="grant-ends"
            type="datetime-local"
            value={ends}
            aria-invalid={problem?.field === "ends"}
            onInput={(e) => setEnds(e.currentTarget.value)}
          />
          <FieldError problem={problem} field="ends" />
        </div>
        <label for="grant-uses">{t("charts.grant.uses")}</label>
        <div>
          <input
            id="grant-uses"
            type="number"
            value={uses}
            placeholder={t("charts.grant.unlimited")}
            aria-invalid={problem?.field === "uses"}
            onInput={(e) => setUses(e.currentTarget.value)}
          />
          <FieldError problem={problem} field="uses" />
        </div>
        <span />
        <div>
          <p class="muted small">
            {t("charts.grant.localTime", { zone: zoneName() })} <code>{zone()}</code>
          </p>
          <FormError problem={problem} fields={["devices", "targets", "starts", "ends", "uses"]} />
          <button type="submit" class="primary" disabled={busy}>
            {t("charts.grant.save")}
          </button>{" "}
          <button type="button" onClick={onCancel}>
            {t("charts.grant.cancel")}
          </button>
        </div>
      </form>
    </section>
  );
}

export function MemberEditor({ onAdded }: { onAdded: (id: string) => void }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState("guest");
  const [password, setPassword] = useState("");
  const { busy, problem, run } = useSubmit(refusal);

  async function add(event: Event): Promise<void> {
    event.preventDefault();
    const body: Record<string, unknown> = { id, name, role };
    if (password !== "") body["password"] = password;
    await run(async () => {
      await api<unknown>("/api/members", { method: "POST", body });
      setId("");
      setName("");
      setPassword("");
      onAdded(id);
    });
  }

  return (
    <section class="card" data-testid="member-editor">
      <h2>{t("charts.member.add.title")}</h2>
      <form class="form-grid" onSubmit={(e) => void add(e)}>
        <label for="member-id">{t("charts.member.id")}</label>
        <div>
          <input id="member-id" value={id} required aria-invalid={problem?.field === "id"} onInput={(e) => setId(e.currentTarget.value)} />
          <FieldError problem={problem} field="id" />
        </div>
        <label for="member-name">{t("charts.member.name")}</label>
        <div>
          <input id="member-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
          <FieldError problem={problem} field="name" />
        </div>
        <label for="member-role">{t("charts.member.role")}</label>
        <div>
          <select id="member-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="guest">{t("charts.role.guest")}</option>
            <option value="family">{t("charts.role.family")}</option>
            <option value="owner">{t("charts.role.owner")}</option>
          </select>
          <FieldError problem={problem} field="role" />
        </div>
        <label for="member-password">{t("charts.member.password")}</label>
        <div>
          <input
            id="member-password"
            type="password"
            autocomplete="new-password"
            value={password}
            aria-invalid={problem?.field === "password"}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <FieldError problem={problem} field="password" />
        </div>
        <span />
        <div>
          <FormError problem={problem} fields={["id", "name", "role", "password"]} />
          <button type="submit" class="primary" disabled={busy}>
            {t("charts.member.add")}
          </button>
        </div>
      </form>
    </section>
  );
}
