/**
 * `nslab course DIR`: prepares an nbgrader course folder from `notebooks/` in one step.
 *
 *   DIR/nbgrader_config.py       course id, the Japanese bash code stub for ClearSolutions,
 *                                the kernel's cell timeout
 *   DIR/source/NAME/NAME.ipynb   the teacher's version of each notebook 01–08 (with its 演習)
 *
 * Then, in DIR, nbgrader's own commands: `nbgrader generate_assignment NAME` (student version
 * in release/), collect submissions into submitted/STUDENT/NAME/, `nbgrader autograde NAME`
 * (runs each with the nslab kernel named in the notebook, a fresh lab per submission),
 * `nbgrader generate_feedback NAME`. An existing nbgrader_config.py is kept; source
 * notebooks are replaced (they are copies of notebooks/).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendExercises, CODE_STUB, NOTEBOOK_EXERCISES } from './exercises.js';

export function nbgraderConfig(courseId: string): string {
  return [
    '# nbgrader configuration for the nslab notebooks (written by `nslab course`).',
    'c = get_config()',
    `c.CourseDirectory.course_id = ${JSON.stringify(courseId)}`,
    '# The student version replaces each solution by a bash comment (the notebooks\' language is bash).',
    `c.ClearSolutions.code_stub = {"bash": ${JSON.stringify(CODE_STUB)}}`,
    '# A cell of the notebooks runs in a few seconds; pings and nested shells stay well under this.',
    'c.Execute.timeout = 60',
    '',
  ].join('\n');
}

interface Nb { cells: { cell_type: string; source: string | string[]; metadata?: Record<string, unknown> }[]; [k: string]: unknown }

/** The teacher's version of a notebook: as committed, with its 演習 appended if it has none yet. */
export function teachersVersion(nb: Nb, name: string): Nb {
  return appendExercises(nb, name);
}

export function prepareCourse(dir: string, notebooksDir: string, log: (l: string) => void = console.log): number {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'nbgrader_config.py');
  if (existsSync(config)) log(`course: kept ${config}`);
  else {
    writeFileSync(config, nbgraderConfig('nslab'));
    log(`course: wrote ${config}`);
  }
  const names = readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).map((f) => f.slice(0, -'.ipynb'.length)).filter((n) => n in NOTEBOOK_EXERCISES).sort();
  for (const name of names) {
    const nb = JSON.parse(readFileSync(join(notebooksDir, `${name}.ipynb`), 'utf8')) as Nb;
    const folder = join(dir, 'source', name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${name}.ipynb`), JSON.stringify(teachersVersion(nb, name), null, 1) + '\n');
    log(`course: source/${name}/${name}.ipynb (${NOTEBOOK_EXERCISES[name].length} exercises)`);
  }
  log(`course: ${names.length} assignments in ${join(dir, 'source')}; next: cd ${dir} && nbgrader generate_assignment ${names[0] ?? 'NAME'}`);
  return 0;
}
