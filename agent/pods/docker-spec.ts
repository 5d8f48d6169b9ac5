/**
 * Docker Engine API container-create bodies as plain data: what a plan produces and the runtime
 * sends unchanged. Deliberately a subset: there is no field for bind mounts, devices, added
 * capabilities or host namespaces, so a plan cannot ask for them; `checkCreateSpec` re-checks the
 * finished object before it reaches the engine.
 */

export type EmptyObject = Record<string, never>;

export interface MountSpec {
  /** Named Docker volumes and per-container tmpfs only; never `bind`. */
  Type: 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  VolumeOptions?: { NoCopy?: boolean };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HostConfigSpec {
  NetworkMode: string;
  IpcMode?: string;
  PidMode?: string;
  Privileged: false;
  CapDrop: string[];
  SecurityOpt: string[];
  PidsLimit: number;
  ReadonlyRootfs: boolean;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  ShmSize?: number;
  GroupAdd?: string[];
  Mounts: MountSpec[];
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  ExtraHosts?: string[];
  RestartPolicy: { Name: 'no' };
  LogConfig?: { Type: string; Config: Record<string, string> };
}

export interface CreateSpec {
  Image: string;
  Hostname?: string;
  User: string;
  Env: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, EmptyObject>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  StopSignal?: string;
  HostConfig: HostConfigSpec;
}

/** A create body plus the container name: exactly what goes to `POST /containers/create`. */
export interface NamedCreateSpec extends CreateSpec {
  name: string;
}
