/** The JSON shapes of the server extension's REST API (docs: "REST API"). */

export type Status =
  'uninitialized' | 'starting' | 'ready' | 'idle' | 'busy' | 'offline' | 'exited';

export interface IQueueEntry {
  msg_id: string;
  /** null for a user who may read kernels but not run code on them. */
  code: string | null;
  code_truncated: boolean;
  cell_id: string | null;
  client_session_id: string | null;
  username: string | null;
  submitted: string;
  started: string | null;
  execution_count: number | null;
  /** How long the same cell took the last time it ran on this kernel. */
  expected_seconds: number | null;
}

export interface IExecutionQueue {
  active: IQueueEntry | null;
  pending: IQueueEntry[];
  length: number;
}

export interface IResourceUsage {
  cpu_percent: number;
  memory_bytes: number;
  thread_count: number;
  sampling_period_ms: number;
  timestamp: string;
}

export interface IJupyterSession {
  id: string;
  path: string;
  name: string;
  type: string;
}

export interface IActiveSession {
  session_id: string;
  /** The command line, credentials redacted; null as `code` is. */
  argv: string[] | null;
  process_id: number | null;
  username: string;
  display_name: string;
  language: string;
  interrupt_mode: 'signal' | 'message';
  initial_env: Record<string, string> | null;
  connected: boolean;
  started: string;
  session_mode: 'console' | 'notebook' | 'background';
  working_directory: string;
  notebook_uri: string | null;
  input_prompt: string;
  continuation_prompt: string;
  execution_queue: IExecutionQueue;
  status: Status;
  kernel_info: Record<string, unknown>;
  idle_seconds: number;
  busy_seconds: number;
  socket_path: string | null;
  kernel_name: string;
  jupyter_sessions: IJupyterSession[];
  notebook_path: string | null;
  connections: number;
  execution_count: number | null;
  last_activity: string;
  restart_count: number;
  awaiting_input: { prompt: string; password: boolean } | null;
  resource_usage: IResourceUsage | null;
  culling: ICulling | null;
  /** This kernel's own idle timeout (0: never culled); null: the server's rule. */
  idle_timeout: number | null;
  last_exit: ILastExit | null;
}

/** When idle culling will take a kernel (null on a session: nothing will). */
export interface ICulling {
  idle_timeout: number;
  source: 'server' | 'kernelspec' | 'session';
  cull_busy: boolean;
  cull_connected: boolean;
  eligible: boolean;
  cull_after: string | null;
  seconds_left: number | null;
}

export interface ILastExit {
  ended: string;
  /** oom: SIGKILLed by the out-of-memory killer. failed_to_start: it ended
   * before it ever answered. */
  reason: 'restarted' | 'exited' | 'killed' | 'oom' | 'failed_to_start';
  exit_code: number | null;
  signal: number | null;
  /** Its memory at the last sample, and the limit it lived under. */
  memory_bytes: number | null;
  limit_bytes: number | null;
  last_words: ILastWords | null;
}

/** A cell the kernel ran, and the line of it a fault's frame names. */
export interface IFaultCell {
  cell_id: string | null;
  execution_count: number | null;
  /** null: the cell that was running, the line not known. */
  line: number | null;
  /** That line of code (null when hidden from this user). */
  code_line: string | null;
}

/** Where a process died of a fault (SIGSEGV, SIGABRT…): the cell that was
 * run and, when it called into another cell, the innermost (`inner`). */
export interface IFault extends IFaultCell {
  /** Its name: "SIGSEGV". */
  signal: string | null;
  /** What the fault handler said: "Segmentation fault". */
  message: string;
  inner: IFaultCell | null;
}

/** What a kernel's process wrote last on its stdout and stderr, and where it
 * faulted. `text` is null for a reader who may not run code ('hidden'), a
 * gateway's kernel ('remote'), or output that was not captured. */
export interface ILastWords {
  /** Escaped by the server (control characters as \x1b…): shown as text. */
  text: string | null;
  why_null: 'remote' | 'not_captured' | 'hidden' | null;
  /** Older output was dropped. */
  truncated: boolean;
  /** The server's one line for a fault (English). */
  summary: string | null;
  fault: IFault | null;
}

export type Outcome = 'ok' | 'error' | 'aborted';

export interface IFinishedExecution extends IQueueEntry {
  ended: string;
  duration_seconds: number;
  status: Outcome;
  error_name: string | null;
  /** The kernel's memory when the cell started and ended, and the highest seen. */
  memory_start_bytes: number | null;
  memory_end_bytes: number | null;
  memory_peak_bytes: number | null;
}

export interface IHistory {
  total: number;
  executions: IFinishedExecution[];
  /** False while the server has not read its store yet after a start. */
  complete?: boolean;
}

export type EndReason =
  | 'shutdown'
  | 'culled'
  | 'exited'
  | 'killed'
  | 'oom'
  | 'failed_to_start'
  | 'server_stopped'
  | 'server_lost';

export interface IEndedSession {
  session_id: string;
  display_name: string;
  kernel_name: string;
  notebook_path: string | null;
  notebook_uri: string | null;
  session_mode: 'console' | 'notebook' | 'background';
  username: string;
  started: string;
  ended: string;
  reason: EndReason;
  forced: boolean;
  by: string | null;
  exit_code: number | null;
  signal: number | null;
  idle_seconds: number;
  memory_bytes: number | null;
  limit_bytes: number | null;
  /** null for a process still running when the record was made, and for
   * records from before there were last words. */
  last_words: ILastWords | null;
  last_execution: IFinishedExecution | null;
}

export interface IEndedList {
  total: number;
  sessions: IEndedSession[];
  /** False while the server has not read its store yet after a start. */
  complete?: boolean;
}

/** An `execution_finished` event (never coalesced). */
export interface IExecutionFinished {
  session_id: string;
  msg_id: string;
  cell_id: string | null;
  notebook_path: string | null;
  execution_count: number | null;
  duration_seconds: number;
  status: Outcome;
  error_name: string | null;
}

export interface ISessionList {
  total: number;
  sessions: IActiveSession[];
}

/** The fields PATCH accepts; null resets to the default. */
export interface ISessionPatch {
  display_name?: string | null;
  input_prompt?: string | null;
  continuation_prompt?: string | null;
  /** Seconds of idleness before culling; 0 never culls; null: the server's rule. */
  idle_timeout?: number | null;
}

/** The memory the server and its kernels may use (`status`'s `memory`). */
export interface IMemoryStatus {
  limit_bytes: number | null;
  used_bytes: number | null;
  kernels_bytes: number;
  source: 'cgroup' | 'env' | 'config' | 'host' | null;
  warning: boolean;
  warning_fraction: number;
}

export interface IServerStatus {
  sessions: number;
  busy: boolean;
  memory: IMemoryStatus;
}

/** A point of a kernel's timeline: the highest memory and CPU of its interval. */
export interface ISample {
  t: string;
  memory_bytes: number;
  cpu_percent: number;
}

export interface ITimeline {
  interval_seconds: number;
  samples: ISample[];
}

/** A `memory_warning` event: use crossed the warning fraction of the limit. */
export interface IMemoryWarning {
  used_bytes: number;
  limit_bytes: number;
  source: string;
  kernels: {
    session_id: string;
    memory_bytes: number;
    status: string;
    notebook_path: string | null;
  }[];
}

export const EVENT_SCHEMA_ID =
  'https://github.com/jupyter-session-ext/jupyter-session-ext/events/active-session/v1';
