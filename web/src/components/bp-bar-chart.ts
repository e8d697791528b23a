import { html, svg, css } from 'lit';
import { BpElement, shared } from './base';

export interface Bar {
  label: string;
  value: number;
  /** What people read for the value (a formatted amount, a percentage). */
  text: string;
}

/** A bar chart drawn as inline SVG, with the same figures in a table for screen readers. */
export class BpBarChart extends BpElement {
  static properties = { bars: { attribute: false }, caption: { type: String } };
  bars: Bar[] = [];
  caption = '';
  static styles = [
    shared,
    css`
      svg {
        width: 100%;
        height: auto;
      }
      .bar {
        fill: #0a4f96;
      }
      text {
        font-size: 11px;
        fill: #1b1b1f;
      }
    `,
  ];

  render() {
    const w = 560;
    const rowH = 26;
    const labelW = 170;
    const max = Math.max(1, ...this.bars.map((b) => b.value));
    const h = Math.max(rowH, this.bars.length * rowH);
    return html`<figure>
      <figcaption><strong>${this.caption}</strong></figcaption>
      <svg viewBox="0 0 ${w} ${h}" role="img" aria-hidden="true" focusable="false">
        ${this.bars.map((b, i) => {
          const bw = Math.round(((w - labelW - 90) * b.value) / max);
          const y = i * rowH;
          return svg`<g>
            <title>${b.label}: ${b.text}</title>
            <text x="0" y=${y + 17}>${b.label.length > 26 ? b.label.slice(0, 25) + '…' : b.label}</text>
            <rect class="bar" x=${labelW} y=${y + 5} width=${Math.max(bw, 1)} height=${rowH - 10} rx="3"></rect>
            <text x=${labelW + bw + 6} y=${y + 17}>${b.text}</text>
          </g>`;
        })}
      </svg>
      <table class="sr-only">
        <caption>${this.caption}</caption>
        ${this.bars.map((b) => html`<tr><th scope="row">${b.label}</th><td>${b.text}</td></tr>`)}
      </table>
    </figure>`;
  }
}
customElements.define('bp-bar-chart', BpBarChart);
