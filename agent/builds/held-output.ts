/**
 * What work done ahead of its place in a build says (log lines and events), kept in order until
 * the build gets there: `release` writes it all to the build's log and events and forwards what
 * comes after; `discard` drops it and what comes after. Bounded: from the first output that
 * does not fit on, everything is dropped until release, and the log says how much.
 */
import type { BuildLog } from './build-log.js';
import type { BuildEvents } from './context.js';

/** Most characters (of log text and event messages) held. */
export const HELD_OUTPUT_MAX_CHARS = 1024 * 1024;

/** Where held output goes: the build's own log and events. */
export interface OutputTarget {
  log: BuildLog;
  events: BuildEvents;
}

export class HeldOutput {
  #held: ((to: OutputTarget) => void)[] = [];
  #chars = 0;
  #dropped = 0;
  #target: OutputTarget | undefined;
  #discarded = false;

  /** The log to give the work done ahead. */
  readonly log: BuildLog = {
    line: (text) => this.#add((to) => to.log.line(text), text.length),
    output: (chunk) => this.#add((to) => to.log.output(chunk), chunk.length),
    flush: () => this.#add((to) => to.log.flush(), 0),
  };

  /** The events to give the work done ahead. */
  readonly events: BuildEvents = {
    normal: (reason, message) =>
      this.#add((to) => to.events.normal(reason, message), message.length),
    warning: (reason, message) =>
      this.#add((to) => to.events.warning(reason, message), message.length),
  };

  #add(write: (to: OutputTarget) => void, chars: number): void {
    if (this.#discarded) return;
    if (this.#target) {
      write(this.#target);
      return;
    }
    if (this.#dropped > 0 || this.#chars + chars > HELD_OUTPUT_MAX_CHARS) {
      this.#dropped += chars;
      return;
    }
    this.#chars += chars;
    this.#held.push(write);
  }

  /** Writes what was held to `target`, then forwards everything to it. */
  release(target: OutputTarget): void {
    if (this.#discarded || this.#target) return;
    for (const write of this.#held) write(target);
    if (this.#dropped > 0) {
      target.log.flush();
      target.log.line(`(${this.#dropped} characters of output were dropped here)`);
    }
    this.#held = [];
    this.#target = target;
  }

  /** Drops what was held and everything after. */
  discard(): void {
    this.#discarded = true;
    this.#held = [];
  }
}
