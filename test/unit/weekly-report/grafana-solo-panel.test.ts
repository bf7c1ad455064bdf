import chromium from '@sparticuz/chromium';
import { describe, expect, it } from 'vitest';
import { reportChromiumFlags } from '../../../functions/weekly-report/browser/chromium.js';
import {
  panelSize,
  pngDimensions,
  soloPanelUrl,
} from '../../../functions/weekly-report/grafana/solo-panel.js';

describe('Grafana solo panel', () => {
  it('asks for the panel, the window, the size, the theme and the repetition', () => {
    const url = soloPanelUrl({
      grafanaUrl: 'https://grafana.example.com/sub',
      uid: 'slo overview',
      slug: '',
      panelId: 7,
      window: { from: new Date(1_000), to: new Date(2_000), isoWeek: '1970-W01' },
      widthPx: 600,
      heightPx: 296,
      theme: 'light',
      variables: { service: 'a&b' },
    });
    expect(url).toBe(
      'https://grafana.example.com/sub/d-solo/slo%20overview/_?orgId=1&panelId=7&from=1000&to=2000&width=600&height=296&theme=light&var-service=a%26b',
    );
  });

  it("sizes a panel from its grid position as Grafana's grid does", () => {
    expect(panelSize({ x: 0, y: 0, w: 12, h: 8 }, 50)).toEqual({ widthPx: 600, heightPx: 296 });
    expect(panelSize({ x: 0, y: 0, w: 24, h: 1 }, 40)).toEqual({ widthPx: 960, heightPx: 30 });
  });

  it('reads the size from a PNG header and refuses what is not a PNG', () => {
    const header = Buffer.alloc(24);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header);
    header.writeUInt32BE(13, 8);
    header.write('IHDR', 12, 'latin1');
    header.writeUInt32BE(1200, 16);
    header.writeUInt32BE(592, 20);
    expect(pngDimensions(header)).toEqual({ width: 1200, height: 592 });
    expect(() => pngDimensions(Buffer.from('<html>Loading</html>'))).toThrow('not a PNG image');
  });
});

describe('Report Chromium flags', () => {
  it('keep the Lambda flags but not the ones that loosen page security, and add the closed-network ones', () => {
    const flags = reportChromiumFlags(chromium.args);
    expect(flags).toEqual(expect.arrayContaining(['--single-process', '--no-zygote', '--no-sandbox']));
    expect(flags).toEqual(
      expect.arrayContaining([
        '--disable-background-networking',
        '--disable-component-update',
        '--no-pings',
        '--disable-domain-reliability',
      ]),
    );
    expect(flags).not.toContain('--disable-web-security');
    expect(flags).not.toContain('--allow-running-insecure-content');
  });
});
