// Typed, validated view of OCI runtime-spec v1.3.0 `linux.resources` (input is untrusted JSON).

export interface DeviceRule { allow: boolean; type: string; major: number; minor: number; access: string }
export interface Memory {
  limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number;
  swappiness?: number; disableOOMKiller?: boolean; useHierarchy?: boolean; checkBeforeUpdate?: boolean;
}
export interface Cpu {
  shares?: number; quota?: number; burst?: number; period?: number; realtimeRuntime?: number;
  realtimePeriod?: number; cpus?: string; mems?: string; idle?: number;
}
export interface WeightDevice { major: number; minor: number; weight?: number; leafWeight?: number }
export interface ThrottleDevice { major: number; minor: number; rate: number }
export interface BlockIO {
  weight?: number; leafWeight?: number; weightDevice: WeightDevice[];
  throttleReadBpsDevice: ThrottleDevice[]; throttleWriteBpsDevice: ThrottleDevice[];
  throttleReadIOPSDevice: ThrottleDevice[]; throttleWriteIOPSDevice: ThrottleDevice[];
}
export interface HugepageLimit { pageSize: string; limit: number }
export interface Network { classID?: number; priorities: { name: string; priority: number }[] }
export interface Rdma { hcaHandles?: number; hcaObjects?: number }
export interface Resources {
  devices?: DeviceRule[]; memory?: Memory; cpu?: Cpu; pids?: { limit?: number }; blockIO?: BlockIO;
  hugepageLimits: HugepageLimit[]; network?: Network; rdma: [string, Rdma][]; unified: [string, string][];
}

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where} must be an object`);
  return v as Obj;
}
function arr(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${where} must be an array`);
  return v;
}
function int(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where} must be an integer`);
  return v;
}
function uint(v: unknown, where: string): number | undefined {
  const n = int(v, where);
  if (n !== undefined && n < 0) throw new Error(`${where} must not be negative`);
  return n;
}
function reqInt(v: unknown, where: string): number {
  const n = int(v, where);
  if (n === undefined) throw new Error(`${where} is required`);
  return n;
}
function bool(v: unknown, where: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new Error(`${where} must be a boolean`);
  return v;
}
function str(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`${where} must be a string`);
  return v;
}

/** Decimal text of a JSON integer; values past 2^53 keep their (already rounded) magnitude. */
export function num(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

export function parseDeviceRule(v: unknown, where: string): DeviceRule {
  const d = obj(v, where) ?? {};
  const allow = bool(d.allow, `${where}.allow`);
  if (allow === undefined) throw new Error(`${where}.allow is required`);
  const type = str(d.type, `${where}.type`) ?? 'a';
  if (!['a', 'c', 'b'].includes(type)) throw new Error(`${where}.type must be one of a, c, b`);
  const access = str(d.access, `${where}.access`) ?? 'rwm';
  if (!/^[rwm]*$/.test(access)) throw new Error(`${where}.access must be made of r, w, m`);
  return { allow, type, major: int(d.major, `${where}.major`) ?? -1, minor: int(d.minor, `${where}.minor`) ?? -1, access };
}

function throttle(v: unknown, where: string): ThrottleDevice[] {
  return arr(v, where).map((e, i) => {
    const w = `${where}[${i}]`;
    const d = obj(e, w) ?? {};
    return { major: reqInt(d.major, `${w}.major`), minor: reqInt(d.minor, `${w}.minor`), rate: uint(d.rate, `${w}.rate`) ?? 0 };
  });
}

export function parseResources(input: unknown): Resources {
  const r = obj(input, 'linux.resources') ?? {};
  const out: Resources = { hugepageLimits: [], rdma: [], unified: [] };
  if (r.devices !== undefined && r.devices !== null) {
    out.devices = arr(r.devices, 'linux.resources.devices').map((d, i) => parseDeviceRule(d, `linux.resources.devices[${i}]`));
  }
  const m = obj(r.memory, 'linux.resources.memory');
  if (m) {
    const w = 'linux.resources.memory';
    out.memory = {
      limit: int(m.limit, `${w}.limit`), reservation: int(m.reservation, `${w}.reservation`),
      swap: int(m.swap, `${w}.swap`), kernel: int(m.kernel, `${w}.kernel`), kernelTCP: int(m.kernelTCP, `${w}.kernelTCP`),
      swappiness: int(m.swappiness, `${w}.swappiness`), disableOOMKiller: bool(m.disableOOMKiller, `${w}.disableOOMKiller`),
      useHierarchy: bool(m.useHierarchy, `${w}.useHierarchy`), checkBeforeUpdate: bool(m.checkBeforeUpdate, `${w}.checkBeforeUpdate`),
    };
  }
  const c = obj(r.cpu, 'linux.resources.cpu');
  if (c) {
    const w = 'linux.resources.cpu';
    out.cpu = {
      shares: uint(c.shares, `${w}.shares`), quota: int(c.quota, `${w}.quota`), burst: uint(c.burst, `${w}.burst`),
      period: uint(c.period, `${w}.period`), realtimeRuntime: int(c.realtimeRuntime, `${w}.realtimeRuntime`),
      realtimePeriod: uint(c.realtimePeriod, `${w}.realtimePeriod`), cpus: str(c.cpus, `${w}.cpus`),
      mems: str(c.mems, `${w}.mems`), idle: int(c.idle, `${w}.idle`),
    };
    for (const k of ['cpus', 'mems'] as const) {
      const v = out.cpu[k];
      if (v !== undefined && !/^[0-9,\- ]*$/.test(v)) throw new Error(`${w}.${k} is not a cpu/node list: ${JSON.stringify(v)}`);
    }
  }
  const p = obj(r.pids, 'linux.resources.pids');
  if (p) out.pids = { limit: int(p.limit, 'linux.resources.pids.limit') };
  const b = obj(r.blockIO, 'linux.resources.blockIO');
  if (b) {
    const w = 'linux.resources.blockIO';
    out.blockIO = {
      weight: uint(b.weight, `${w}.weight`), leafWeight: uint(b.leafWeight, `${w}.leafWeight`),
      weightDevice: arr(b.weightDevice, `${w}.weightDevice`).map((e, i) => {
        const wd = `${w}.weightDevice[${i}]`;
        const d = obj(e, wd) ?? {};
        return { major: reqInt(d.major, `${wd}.major`), minor: reqInt(d.minor, `${wd}.minor`),
          weight: uint(d.weight, `${wd}.weight`), leafWeight: uint(d.leafWeight, `${wd}.leafWeight`) };
      }),
      throttleReadBpsDevice: throttle(b.throttleReadBpsDevice, `${w}.throttleReadBpsDevice`),
      throttleWriteBpsDevice: throttle(b.throttleWriteBpsDevice, `${w}.throttleWriteBpsDevice`),
      throttleReadIOPSDevice: throttle(b.throttleReadIOPSDevice, `${w}.throttleReadIOPSDevice`),
      throttleWriteIOPSDevice: throttle(b.throttleWriteIOPSDevice, `${w}.throttleWriteIOPSDevice`),
    };
  }
  out.hugepageLimits = arr(r.hugepageLimits, 'linux.resources.hugepageLimits').map((e, i) => {
    const w = `linux.resources.hugepageLimits[${i}]`;
    const h = obj(e, w) ?? {};
    const pageSize = str(h.pageSize, `${w}.pageSize`);
    if (pageSize === undefined || !/^[1-9][0-9]*[KMGTP]B$/.test(pageSize)) {
      throw new Error(`${w}.pageSize must look like "2MB", got ${JSON.stringify(h.pageSize)}`);
    }
    return { pageSize, limit: uint(h.limit, `${w}.limit`) ?? 0 };
  });
  const n = obj(r.network, 'linux.resources.network');
  if (n) {
    const w = 'linux.resources.network';
    out.network = {
      classID: uint(n.classID, `${w}.classID`),
      priorities: arr(n.priorities, `${w}.priorities`).map((e, i) => {
        const wp = `${w}.priorities[${i}]`;
        const pr = obj(e, wp) ?? {};
        const name = str(pr.name, `${wp}.name`);
        if (!name || /\s/.test(name)) throw new Error(`${wp}.name must be an interface name`);
        return { name, priority: uint(pr.priority, `${wp}.priority`) ?? 0 };
      }),
    };
  }
  const rd = obj(r.rdma, 'linux.resources.rdma');
  if (rd) {
    for (const [dev, v] of Object.entries(rd)) {
      const w = `linux.resources.rdma[${JSON.stringify(dev)}]`;
      if (dev === '' || /\s/.test(dev)) throw new Error(`${w}: invalid device name`);
      const e = obj(v, w) ?? {};
      out.rdma.push([dev, { hcaHandles: uint(e.hcaHandles, `${w}.hcaHandles`), hcaObjects: uint(e.hcaObjects, `${w}.hcaObjects`) }]);
    }
  }
  const u = obj(r.unified, 'linux.resources.unified');
  if (u) {
    for (const [k, v] of Object.entries(u)) {
      const value = str(v, `linux.resources.unified[${JSON.stringify(k)}]`);
      if (value !== undefined) out.unified.push([k, value]);
    }
  }
  return out;
}
