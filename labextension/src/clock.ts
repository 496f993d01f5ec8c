/**
 * One clock for every live timer in the panel and the status bar: a signal
 * each second, only while something that shows timers is visible. Timer
 * components subscribe to it (`useClock`), so a tick re-renders the timers,
 * not the rows around them.
 */
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

export class Clock {
  get tick(): ISignal<this, number> {
    return this._tick;
  }

  get now(): number {
    return this._now;
  }

  /** Something that shows timers became visible (counted: several may). */
  start(): void {
    this._users++;
    if (this._timer === 0) {
      this._now = Date.now();
      this._tick.emit(this._now);
      this._timer = window.setInterval(() => {
        this._now = Date.now();
        this._tick.emit(this._now);
      }, 1000);
    }
  }

  stop(): void {
    this._users = Math.max(0, this._users - 1);
    if (this._users === 0 && this._timer !== 0) {
      window.clearInterval(this._timer);
      this._timer = 0;
    }
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._timer = 0;
    Signal.clearData(this);
  }

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
