// Pure facts about ECS/Fargate that the manifest checks and the ECS driver share (no I/O).

/**
 * The Fargate task sizes AWS accepts: CPU units (1024 = 1 vCPU) and, for each, the memory sizes in
 * MiB (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html).
 */
export const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memory: { min: number; max: number; step: number } | number[] }> = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: { min: 1024, max: 4096, step: 1024 } },
  { cpu: 1024, memory: { min: 2048, max: 8192, step: 1024 } },
  { cpu: 2048, memory: { min: 4096, max: 16384, step: 1024 } },
  { cpu: 4096, memory: { min: 8192, max: 30720, step: 1024 } },
  { cpu: 8192, memory: { min: 16384, max: 61440, step: 4096 } },
  { cpu: 16384, memory: { min: 32768, max: 122880, step: 8192 } },
];

export const FARGATE_CPUS = FARGATE_SIZES.map((s) => s.cpu);

/** Whether `memory` MiB is a valid Fargate size for `cpu` units. */
export function isFargateSize(cpu: number, memory: number): boolean {
  const size = FARGATE_SIZES.find((s) => s.cpu === cpu);
  if (!size) return false;
  if (Array.isArray(size.memory)) return size.memory.includes(memory);
  const { min, max, step } = size.memory;
  return memory >= min && memory <= max && (memory - min) % step === 0;
}

/** For an error message: the memory sizes Fargate accepts with `cpu`. */
export function fargateMemoryRule(cpu: number): string {
  const size = FARGATE_SIZES.find((s) => s.cpu === cpu);
  if (!size) return `cpu must be one of ${FARGATE_CPUS.join(', ')}`;
  if (Array.isArray(size.memory)) return `with cpu ${cpu}, memory must be ${size.memory.slice(0, -1).join(', ')} or ${size.memory.at(-1)} (MiB)`;
  const { min, max, step } = size.memory;
  return `with cpu ${cpu}, memory must be ${min} to ${max} MiB in steps of ${step}`;
}

/** The default mount path of a volume in an ECS task: /volumes/<template>. */
export function defaultMountPath(template: string): string {
  return `/volumes/${template}`;
}

/** The EFS access point root directory of one instance's volume, as the issue fixes it. */
export function accessPointPath(set: string, template: string, ordinal: number): string {
  return `/ordinal/${set}/${template}-${set}-${ordinal}`;
}
