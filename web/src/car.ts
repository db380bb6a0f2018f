// The car's VSS signals the overview and cabin view read, and what follows from them.
import type { Model } from "./store";

const BATTERY = "Vehicle.Powertrain.TractionBattery";
export const SIG = {
  soc: `${BATTERY}.StateOfCharge.Current`,
  range: "Vehicle.Powertrain.Range",
  charging: `${BATTERY}.Charging.IsCharging`,
  power: `${BATTERY}.CurrentPower`,
  cable: `${BATTERY}.Charging.ChargingPort.AnyPosition.IsChargingCableConnected`,
  limit: `${BATTERY}.Charging.ChargeLimit`,
  cabin: "Vehicle.Cabin.HVAC.AmbientAirTemperature",
  climate: "Vehicle.Cabin.HVAC.IsAirConditioningActive",
  setTemp: "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature",
  speed: "Vehicle.Speed",
  lat: "Vehicle.CurrentLocation.Latitude",
  lon: "Vehicle.CurrentLocation.Longitude",
  trunkOpen: "Vehicle.Body.Trunk.Rear.IsOpen",
  trunkLocked: "Vehicle.Body.Trunk.Rear.IsLocked",
  place: "place",
  distance: "distance_to_home",
} as const;

const DOOR_PATHS = ["Row1.DriverSide", "Row1.PassengerSide", "Row2.DriverSide", "Row2.PassengerSide"].map(
  (d) => `Vehicle.Cabin.Door.${d}`,
);
export const DOORS = DOOR_PATHS.map((d) => `${d}.IsLocked`);
export const DOORS_OPEN = DOOR_PATHS.map((d) => `${d}.IsOpen`);

/** The doors and the trunk together: what is unlocked, what is open. */
export interface Closure {
  unlockedDoors: number;
  openDoors: number;
  trunkOpen: boolean;
  trunkUnlocked: boolean;
  /** Everything locked and shut. */
  secure: boolean;
}

export interface CarView {
  id: string;
  name: string;
  num(signal: string): number | null;
  bool(signal: string): boolean | null;
  str(signal: string): string | null;
  closure: Closure;
  position: [number, number] | null;
  /** Minutes to home at the current speed; null when parked, home or unknown. */
  etaMinutes: number | null;
}

// Below this the car is taken as standing: no arrival time from a crawl.
const MOVING_KMH = 3;

export function carView(model: Model): CarView | null {
  const device = model.devices.find((d) => d.type === "car");
  if (device === undefined) return null;
  const state = model.state[device.id] ?? {};
  const num = (s: string) => {
    const v = state[s]?.value;
    return typeof v === "number" ? v : null;
  };
  const bool = (s: string) => {
    const v = state[s]?.value;
    return typeof v === "boolean" ? v : null;
  };
  const str = (s: string) => {
    const v = state[s]?.value;
    return typeof v === "string" ? v : null;
  };
  const lat = num(SIG.lat);
  const lon = num(SIG.lon);
  const distance = num(SIG.distance);
  const speed = num(SIG.speed);
  const away = str(SIG.place) !== "home";
  const etaMinutes =
    away && distance !== null && speed !== null && speed >= MOVING_KMH ? (distance / speed) * 60 : null;
  const unlockedDoors = DOORS.filter((d) => state[d]?.value === false).length;
  const openDoors = DOORS_OPEN.filter((d) => state[d]?.value === true).length;
  const trunkOpen = bool(SIG.trunkOpen) === true;
  const trunkUnlocked = bool(SIG.trunkLocked) === false;
  return {
    id: device.id,
    name: device.name,
    num,
    bool,
    str,
    closure: {
      unlockedDoors,
      openDoors,
      trunkOpen,
      trunkUnlocked,
      secure: unlockedDoors === 0 && openDoors === 0 && !trunkOpen && !trunkUnlocked,
    },
    position: lat !== null && lon !== null ? [lat, lon] : null,
    etaMinutes,
  };
}
