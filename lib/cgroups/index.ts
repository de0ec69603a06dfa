// hull's cgroup library: layout detection, paths, resource planning and live operations.
// Loads only node:fs/path/util.
// create: detectLayout -> containerDirs -> resourceWrites (pure planning, also fine for checks)
// -> prepareParents (mkdirs missing ancestors: v1 cpuset ancestors need cpus/mems, v2 ancestors
// need subtree_control) -> the bootstrap mkdirs the container dirs, applies the writes, joins.
export type { CgroupMode, Hierarchy, Layout } from './layout';
export { detectLayout, parseProcCgroup } from './layout';
export type { CgroupDirs, ContainerDirsOptions } from './paths';
export { containerDirs, expandSlice, systemdPath, DEFAULT_PARENT } from './paths';
export type { Write } from './plan';
export type { ResourceWritesOptions } from './resources';
export { resourceWrites, prepareParents, DEFAULT_DEVICE_RULES } from './resources';
export { sharesToWeight, blkioToIOWeight } from './v2';
export { applyWrites, readPids, freeze, thaw, isFrozen, killAll, removeDirs, applyUpdate } from './ops';
export { stats } from './stats';
