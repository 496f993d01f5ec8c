/**
 * One clock for every live timer in the panel and the status bar: a signal
 * each second, only while something that shows timers is visible, and not
 * while JupyterLab's tab is hidden (a tick on coming back sets every timer
 * right). Timer components subscribe to it (`useClock`), so a tick
 * re-renders the timers, not the rows around them.
 */
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

export class Clock {
  constructor() {
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  get tick(): ISignal<this, number> {
    return this._tick;
  }

  get now(): number {
    return this._now;
  }

  /** Something that shows timers became visible (counted: several may). */
  start(): void {
    this._users++;
    this._run();
  }

  stop(): void {
    this._users = Math.max(0, this._users - 1);
    if (this._users === 0) {
      this._halt();
    }
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._halt();
    Signal.clearData(this);
  }

  private _emit(): void {
    this._now = Date.now();
    this._tick.emit(this._now);
  }

  private _run(): void {
    if (this._timer === 0 && this._users > 0 && document.visibilityState !== 'hidden') {
      this._emit();
      this._timer = window.setInterval(() => this._emit(), 1000);
    }
  }

  private _halt(): void {
    window.clearInterval(this._timer);
    this._timer = 0;
  }

  private _onVisibility = (): void => {
    if (document.visibilityState === 'hidden') {
      this._halt();
    } else {
      this._run();
    }
  };

  private _now = Date.now();
  private _timer = 0;
  private _users = 0;
  private _tick = new Signal<this, number>(this);
}

/** The clock's time, re-rendering the calling component on each tick. */
export function useClock(clock: Clock): number {
  const [now, setNow] = React.useState(clock.now);
  React.useEffect(() => {
    const onTick = (_: Clock, t: number) => setNow(t);
    clock.tick.connect(onTick);
    return () => {
      clock.tick.disconnect(onTick);
    };
  }, [clock]);
  return now;
}
