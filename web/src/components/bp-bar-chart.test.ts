import { describe, expect, it } from 'vitest';
import './bp-bar-chart';
import type { BpBarChart } from './bp-bar-chart';

describe('bp-bar-chart', () => {
  it('draws one bar per figure, scaled to the largest, with a text alternative', async () => {
    const el = document.createElement('bp-bar-chart') as BpBarChart;
    el.caption = 'Payments per day';
    el.bars = [
      { label: '2026-11-27', value: 5, text: '5' },
      { label: '2026-11-28', value: 10, text: '10' },
    ];
    document.body.append(el);
    await el.updateComplete;
    const rects = [...el.shadowRoot!.querySelectorAll('rect')];
    expect(rects).toHaveLength(2);
    expect(Number(rects[1].getAttribute('width'))).toBe(2 * Number(rects[0].getAttribute('width')));
    const cells = [...el.shadowRoot!.querySelectorAll('table th')].map((th) => th.textContent);
    expect(cells).toEqual(['2026-11-27', '2026-11-28']);
    el.remove();
  });
});
