/**
 * Every date form the notebooks' commands print, for every day of a leap year, through the
 * normaliser: a rerun on any day must compare equal to the committed run of any other day.
 *
 * The texts are made by the real programs (`date -f` with the format each command uses, and
 * `ls -l` on files whose times are set with `touch -d`), in the C locale and in Japanese (a
 * ja_JP.UTF-8 locale compiled with localedef into a temporary folder, so nothing of this
 * machine's locale setup changes). Issue 15: `ls -l` pads a one-digit day (`Dec  6`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { normalizeText } from '../../src/cli/normalize.js';

/** Every day of 2028 (a leap year: 29 February is in it), at a time with two-digit fields. */
function daysOfLeapYear(): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(2028, 0, 1); t < Date.UTC(2029, 0, 1); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10) + ' 13:41:32');
  }
  return days;
}

/** The forms, each with the strftime format of the command that prints it. */
const FORMATS: { what: string; format: string; line: (stamp: string) => string }[] = [
  { what: 'ls -l, a recent file', format: '%b %e %H:%M', line: (d) => `-rw-r--r-- 1 root root 0 ${d} notes.txt` },
  { what: 'ls -l, a file older than six months', format: '%b %e  %Y', line: (d) => `drwxr-xr-x 2 65534 65534 40 ${d} nobody` },
  { what: 'date', format: '%a %b %e %H:%M:%S %Z %Y', line: (d) => d },
  { what: 'date -R', format: '%a, %d %b %Y %H:%M:%S %z', line: (d) => d },
  { what: 'date -Iseconds', format: '%Y-%m-%dT%H:%M:%S%:z', line: (d) => d },
  { what: 'uptime -s', format: '%Y-%m-%d %H:%M:%S', line: (d) => d },
  { what: 'who', format: '%Y-%m-%d %H:%M', line: (d) => `root     pts/0        ${d} (10.0.0.1)` },
  { what: 'last', format: '%a %b %e %H:%M', line: (d) => `root     pts/0        10.0.0.1         ${d}   still logged in` },
  { what: 'journalctl', format: '%b %d %H:%M:%S', line: (d) => `${d} lab kernel: veth0: link up` },
  { what: 'ps STIME of an earlier day', format: '%b%d', line: (d) => `started ${d}` },
];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', ...env } });
}

/** Every normalised line must be the same, and no digit of a date may be left in it. */
function assertOneForm(what: string, lines: string[]): string {
  const forms = new Map<string, string>();
  for (const l of lines) forms.set(normalizeText(l), l);
  assert.equal(forms.size, 1, `${what}: ${forms.size} normal forms, e.g.\n${[...forms].slice(0, 4).map(([n, l]) => `  ${JSON.stringify(l)} → ${JSON.stringify(n)}`).join('\n')}`);
  const [form] = forms.keys();
  assert.doesNotMatch(form.replace(/\b(?:0|1|40|65534|10\.0\.0\.1)\b|pts\/0|644|rw-r--r--/g, ''), /\d{2}/, `${what}: digits left in ${JSON.stringify(form)}`);
  return form;
}

describe('normalize: every date form on every day of a leap year (issue 15)', () => {
  const days = daysOfLeapYear();
  let dir: string;
  let daysFile: string;
  /** A LOCPATH holding ja_JP.UTF-8, or null if this machine cannot compile it. */
  let jaLocales: string | null = null;

  before(function () {
    this.timeout(60_000);
    dir = mkdtempSync(path.join(tmpdir(), 'nslab-dates-'));
    daysFile = path.join(dir, 'days.txt');
    writeFileSync(daysFile, days.join('\n') + '\n');
    const locales = path.join(dir, 'locales');
    // localedef ships with libc-bin, the ja_JP source with Debian's `locales` (setup installs it).
    run('mkdir', ['-p', locales]);
    run('localedef', ['-i', 'ja_JP', '-f', 'UTF-8', path.join(locales, 'ja_JP.UTF-8')]);
    jaLocales = locales;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has 366 days, 29 February among them, one- and two-digit days', () => {
    assert.equal(days.length, 366);
    assert.ok(days.includes('2028-02-29 13:41:32'));
    const c = run('date', ['-f', daysFile, '+%b %e']).trimEnd().split('\n');
    assert.ok(c.includes('Feb  9') && c.includes('Feb 29'), 'ls pads a one-digit day with a blank');
  });

  for (const f of FORMATS) {
    it(`C locale: ${f.what} (${f.format})`, () => {
      const stamps = run('date', ['-f', daysFile, `+${f.format}`], { LC_ALL: 'C' }).trimEnd().split('\n');
      assert.equal(stamps.length, 366);
      assertOneForm(f.what, stamps.map(f.line));
    });
  }

  it('C locale: a recent and an old file of ls -l read the same (the time becomes a year after six months)', () => {
    const recent = run('date', ['-f', daysFile, '+%b %e %H:%M'], { LC_ALL: 'C' }).trimEnd().split('\n');
    const old = run('date', ['-f', daysFile, '+%b %e  %Y'], { LC_ALL: 'C' }).trimEnd().split('\n');
    assertOneForm('ls -l, recent and old', [...recent, ...old].map(FORMATS[0].line));
  });

  for (const [what, format] of [
    ['date (Japanese default form)', ''],
    ['ls -l, a recent file (Japanese)', '+%b %e %H:%M'],
    ['ls -l, an old file (Japanese)', '+%b %e  %Y'],
    ['date +%x %X (Japanese)', '+%x %X'],
  ] as const) {
    it(`ja_JP.UTF-8: ${what}`, () => {
      const args = ['-f', daysFile, ...(format ? [format] : [])];
      const stamps = run('date', args, { LC_ALL: 'ja_JP.UTF-8', LOCPATH: jaLocales! }).trimEnd().split('\n');
      assert.equal(stamps.length, 366);
      assert.match(stamps[0], /月/, 'the Japanese locale was used');
      assertOneForm(what, stamps.map((d) => `-rw-r--r-- 1 root root 0 ${d} メモ.txt`));
    });
  }

  it('real ls -l listings of files from different days (and years) read the same', () => {
    const listings: string[] = [];
    for (const [i, day] of ['2025-01-05 10:00', '2026-02-28 23:59', days[0], days[59], days[365]].entries()) {
      const sub = path.join(dir, `ls${i}`);
      run('mkdir', ['-p', sub]);
      const file = path.join(sub, 'notes.txt');
      writeFileSync(file, '');
      const t = new Date(day.replace(' ', 'T') + 'Z');
      utimesSync(file, t, t);
      for (const env of [{ LC_ALL: 'C' }, { LC_ALL: 'ja_JP.UTF-8', LOCPATH: jaLocales! }]) {
        listings.push(run('ls', ['-l', sub], env).replace(/^合計/m, 'total'));
      }
    }
    const forms = new Set(listings.map((l) => normalizeText(l)));
    assert.equal(forms.size, 1, [...forms].join('\n---\n'));
    assert.match([...forms][0], /<datetime> notes\.txt/);
  });

  it('still tells a different file name, size or owner apart', () => {
    const a = normalizeText('-rw-r--r-- 1 root root 0 Dec  6 13:41 notes.txt');
    assert.notEqual(a, normalizeText('-rw-r--r-- 1 root root 0 Dec  6 13:41 other.txt'));
    assert.notEqual(a, normalizeText('-rw-r--r-- 1 root root 5 Dec  6 13:41 notes.txt'));
    assert.notEqual(a, normalizeText('-rw-r--r-- 1 nobody root 0 Dec  6 13:41 notes.txt'));
    // A year that is not beside a date or a time is not a date.
    assert.equal(normalizeText('ids 2025 and 1999'), 'ids 2025 and 1999');
    // A file named like a time zone stays a file name.
    assert.match(normalizeText('-rw-r--r-- 1 root root 0 Dec  6 13:41 UTCX'), /<datetime> UTCX$/);
  });
});
