/**
 * Memory, drawn: the header's "used of limit" bar, each row's sparkline of
 * the last hour, and the expanded row's chart of memory and CPU. The
 * figures come from the server (`status` and the resources routes), which
 * keeps the history: a reload or a second browser draws the same.
 */
import * as React from 'react';

import { formatBytes, formatPercent, formatUsedOf, ITranslate, N_ } from './format';
import { useTranslate } from './translate';
import { IMemoryStatus, ISample, ITimeline } from './types';

const SOURCE_WORDS: Record<string, string> = {
  cgroup: N_("the container's (cgroup) limit"),
  env: 'MEM_LIMIT',
  config: N_('the configured limit'),
  host: N_("the machine's memory")
};
const SOME_LIMIT = N_('the limit');

/** "1.9 of 2.1 GB" and a bar; the warning colour past the warning fraction. */
export function MemoryMeter(props: { memory: IMemoryStatus | null }): JSX.Element {
  const m = props.memory;
  const t = useTranslate();
  if (!m || m.used_bytes === null || m.limit_bytes === null || m.limit_bytes <= 0) {
    return (
      <span className="jp-ActiveSessions-meter" title={t.__('Memory: not measured yet')}>
        —
      </span>
    );
  }
  const fraction = Math.min(1, m.used_bytes / m.limit_bytes);
  const source = t.__(SOURCE_WORDS[m.source ?? ''] ?? SOME_LIMIT);
  const title =
    t.__(
      'Memory used: %1 (%2) of %3; kernels: %4',
      formatUsedOf(m.used_bytes, m.limit_bytes, t),
      formatPercent(fraction * 100, t),
      source,
      formatBytes(m.kernels_bytes, t)
    ) +
    (m.warning
      ? '. ' + t.__('Past %1: the OOM killer is near', formatPercent(m.warning_fraction * 100, t))
      : '');
  return (
    <span className={`jp-ActiveSessions-meter${m.warning ? ' jp-mod-warning' : ''}`} title={title}>
      <span className="jp-ActiveSessions-meterText">
        {formatUsedOf(m.used_bytes, m.limit_bytes, t)}
      </span>
      <span
        className="jp-ActiveSessions-meterBar"
        role="meter"
        aria-label={t.__('Memory used of the limit')}
        aria-valuemin={0}
        aria-valuemax={m.limit_bytes}
        aria-valuenow={m.used_bytes}
        aria-valuetext={formatUsedOf(m.used_bytes, m.limit_bytes, t)}
      >
        <span style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </span>
    </span>
  );
}

/** The polyline of `values` in a `width` × `height` box, `low` at the
 * bottom and `high` at the top. */
function points(values: number[], width: number, height: number, high: number, low = 0): string {
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const range = high - low;
  return values
    .map((v, i) => {
      const y = height - 0.5 - (range > 0 ? ((v - low) / range) * (height - 1) : 0);
      return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** The range a sparkline spans: at least a fifth of its highest value, so a
 * kernel steady within a few kB draws a flat line in the middle, not noise. */
function sparkRange(values: number[]): [number, number] {
  const high = Math.max(...values);
  const low = Math.min(...values);
  const span = Math.max(high - low, 0.2 * high);
  const middle = (high + low) / 2;
  return [middle - span / 2, middle + span / 2];
}

/** A row's memory over the last hour, scaled to its own highest point. */
export function Sparkline(props: { timeline: ITimeline | null }): JSX.Element {
  const samples = props.timeline?.samples ?? [];
  const t = useTranslate();
  const width = 36;
  const height = 12;
  if (samples.length < 2) {
    return <span className="jp-ActiveSessions-spark" aria-hidden="true" />;
  }
  const memory = samples.map(s => s.memory_bytes);
  const [low, high] = sparkRange(memory);
  const title = t.__(
    'Memory, last %1: %2 to %3',
    span(samples, t),
    formatBytes(Math.min(...memory), t),
    formatBytes(Math.max(...memory), t)
  );
  return (
    <svg
      className="jp-ActiveSessions-spark"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={title}
    >
      <title>{title}</title>
      <polyline points={points(memory, width, height, high, low)} />
    </svg>
  );
}

function span(samples: ISample[], t: ITranslate): string {
  const seconds = (Date.parse(samples[samples.length - 1].t) - Date.parse(samples[0].t)) / 1000;
  return seconds >= 90 * 60
    ? t.__('%1 h', Math.round(seconds / 3600))
    : t.__('%1 min', Math.max(1, Math.round(seconds / 60)));
}

/** The timeline of an expanded row, fetched on opening and as it grows. */
export function useTimeline(
  fetch: () => Promise<ITimeline>,
  deps: React.DependencyList
): ITimeline | null {
  const [timeline, setTimeline] = React.useState<ITimeline | null>(null);
  React.useEffect(() => {
    let live = true;
    fetch()
      .then(t => live && setTimeline(t))
      .catch(() => live && setTimeline({ interval_seconds: 0, samples: [] }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return timeline;
}

/** Memory (filled) and CPU (a line) over the kernel's timeline. */
export function MemoryChart(props: { timeline: ITimeline | null }): JSX.Element {
  const samples = props.timeline?.samples ?? [];
  const t = useTranslate();
  if (samples.length < 2) {
    return (
      <div className="jp-ActiveSessions-chart jp-mod-empty">
        {t.__('Memory and CPU: measuring…')}
      </div>
    );
  }
  const width = 240;
  const height = 48;
  const memory = samples.map(s => s.memory_bytes);
  const cpu = samples.map(s => s.cpu_percent);
  const topMemory = Math.max(...memory);
  const topCpu = Math.max(100, ...cpu);
  const line = points(memory, width, height, topMemory);
  const label = t.__(
    'Memory and CPU over the last %1: memory %2 to %3, CPU up to %4',
    span(samples, t),
    formatBytes(Math.min(...memory), t),
    formatBytes(topMemory, t),
    formatPercent(Math.max(...cpu), t)
  );
  return (
    <figure className="jp-ActiveSessions-chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={label}
      >
        <title>{label}</title>
        <polygon
          className="jp-ActiveSessions-chartMemory"
          points={`0,${height} ${line} ${width},${height}`}
        />
        <polyline
          className="jp-ActiveSessions-chartCpu"
          points={points(cpu, width, height, topCpu)}
        />
      </svg>
      <figcaption>
        <span className="jp-ActiveSessions-chartKeyMemory">
          {t.__('memory, up to %1', formatBytes(topMemory, t))}
        </span>
        <span className="jp-ActiveSessions-chartKeyCpu">
          {t.__('CPU, up to %1', formatPercent(Math.max(...cpu), t))}
        </span>
        <span>{t.__('last %1', span(samples, t))}</span>
      </figcaption>
    </figure>
  );
}
