/**
 * The formats: the samples in docs/siem.md are what the formatters write, CEF
 * escaping keeps a hostile value inside its field, and every format writes one
 * line per record.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cefValue } from './cef.js';
import { formatter, type FormatName } from './index.js';
import { renderSample, SAMPLE_PRODUCT, SAMPLES } from './samples.js';
import type { SinkRecord } from './record.js';

const FORMATS: FormatName[] = ['json', 'cef', 'ocsf', 'ecs'];

describe('sink formats', () => {
  it('docs/siem.md shows, for each format, what the formatter writes for its samples', () => {
    const page = readFileSync(new URL('../../../docs/siem.md', import.meta.url), 'utf8');
    const shown = [...page.matchAll(/<!-- sample: (\w+) (\w+) -->\n```\w*\n([\s\S]*?)\n```/g)];
    assert.ok(shown.length >= FORMATS.length, 'at least one sample per format');
    for (const format of FORMATS) assert.ok(shown.some((m) => m[1] === format), `a ${format} sample`);
    for (const [, format, sample, text] of shown) {
      assert.equal(text, renderSample(format as FormatName, sample as keyof typeof SAMPLES), `${format} ${sample}`);
    }
  });

  it('CEF escapes \\ and = in values and | in the header, and writes line breaks as \\n, so no value forges a field', () => {
    assert.equal(cefValue('a=b\\c\nd\re'), 'a\\=b\\\\c\\nd\\re');
    const base = SAMPLES.threat;
    assert.equal(base.stream, 'events');
    if (base.stream !== 'events') return;
    const hostile: SinkRecord = {
      stream: 'events',
      event: { ...base.event, type: 'waf|x', message: 'bad | message\nCEF:0|forged', request: { ...base.event.request!, path: '/x act=allowed suser=admin' } },
    };
    const line = formatter('cef', SAMPLE_PRODUCT)(hostile);
    assert.doesNotMatch(line, /[\r\n]/);
    assert.match(line, /\|waf\\\|x\|bad \\\| message CEF:0\\\|forged\|8\|/);
    assert.match(line, / request=\/x act\\=allowed suser\\=admin /);
    assert.equal(line.match(/ act=/g)?.length, 1, 'one act key');
  });

  it('every format writes each sample as one line; JSON formats parse back', () => {
    for (const format of FORMATS) {
      for (const record of Object.values(SAMPLES)) {
        const line = formatter(format, SAMPLE_PRODUCT)(record);
        assert.doesNotMatch(line, /[\r\n]/, format);
        if (format !== 'cef') JSON.parse(line);
      }
    }
  });

  it('OCSF picks the class by record: HTTP Activity, Authentication, Detection Finding', () => {
    const ocsf = formatter('ocsf', SAMPLE_PRODUCT);
    const parsed = (r: SinkRecord) => JSON.parse(ocsf(r)) as { class_uid: number; type_uid: number; activity_id: number };
    assert.deepEqual([SAMPLES.access, SAMPLES.authentication, SAMPLES.threat].map((r) => parsed(r).class_uid), [4002, 3002, 2004]);
    assert.equal(parsed(SAMPLES.access).type_uid, 400203, 'HTTP Activity: Get');
  });
});
