/** A small line chart of recent values; the label says what it shows and the latest value. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const w = 240;
  const h = 48;
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  );
}
