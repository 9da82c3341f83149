// Durations as workflow inputs write them (src/duration.ts): parsing to milliseconds and formatting back.

import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s', 3_723_000],
    ['500ms', 500],
    ['2s250ms', 2_250],
    ['1.5s', 1_500],
    ['0.5m', 30_000],
    ['1.25h', 4_500_000],
    ['0s', 0],
    [' 30s ', 30_000],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['10', 10_000],
    ['0', 0],
    ['2.5', 2_500],
    ['90', 90_000],
  ])('reads a bare number %j as seconds: %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rounds fractions of a millisecond', () => {
    expect(parseDuration('1.0005s')).toBe(1_001);
    expect(parseDuration('0.0004')).toBe(0);
  });

  it.each([
    '',
    '   ',
    'abc',
    '5x',
    '-1s',
    '1 m',
    '1m 30s',
    's',
    '5 minutes',
    '.5s',
    '5.s',
    '1e3s',
    '+5s',
    '1d',
    '5M',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [30_000, '30s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_660_000, '1h1m'],
    [3_601_000, '1h1s'],
    [3_723_000, '1h2m3s'],
    [7_200_000, '2h'],
    [90_000_000, '25h'],
  ])('formats %i ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('rounds what it cannot show: tenths of a second under a minute, whole seconds above', () => {
    expect(formatDuration(1_234)).toBe('1.2s');
    expect(formatDuration(1_250.4)).toBe('1.3s');
    expect(formatDuration(61_500)).toBe('1m2s');
    expect(formatDuration(0.4)).toBe('0ms');
  });

  it('round-trips every whole millisecond under a second', () => {
    for (let ms = 0; ms < 1000; ms++) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('round-trips every tenth of a second under a minute', () => {
    for (let ms = 1000; ms < 60_000; ms += 100) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('round-trips whole seconds up to a day', () => {
    for (let ms = 60_000; ms <= 86_400_000; ms += 7_000) expect(parseDuration(formatDuration(ms))).toBe(ms);
    for (const ms of [3_600_000, 3_599_000, 86_400_000, 86_399_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('parses what it formats to the same text again (formatting is idempotent through the parser)', () => {
    for (const ms of [0, 7, 1_234, 59_940, 61_500, 3_723_456]) {
      const text = formatDuration(ms);
      expect(formatDuration(parseDuration(text)!)).toBe(text);
    }
  });

  it('carries rounding into the next unit: 59 999 ms is 1m, 999.6 ms is 1s', () => {
    expect(formatDuration(59_999)).toBe('1m');
    expect(formatDuration(999.6)).toBe('1s');
  });
});
