/**
 * The kernel's shells in the sense of JEP 91 (kernel subshells, protocol 5.5): the main shell
 * and the subshells a frontend made with `create_subshell_request`. For nslab a subshell is a
 * terminal of the lab: its own persistent bash joined to the same lab, with a number like the
 * terminals that notebook cells pick with `#| terminal: N`.
 *
 * - The main shell is terminal 1 (a notebook's cells run there unless they say otherwise).
 * - A subshell becomes a terminal with its first cell: it takes the lowest terminal number that
 *   nothing uses (no subshell has it and no shell runs in it; a notebook's `#| terminal: 2`
 *   keeps 2 for itself). Not before: JupyterLab makes a subshell for every comm target of a
 *   kernel that has subshells (ipywidgets' `jupyter.widget.control` as soon as a notebook
 *   connects), and such a subshell never runs a cell; it must not take terminal 2 from the
 *   learner's console. A cell with `#| terminal: N` then reaches the subshell's terminal, and a
 *   subshell's cells may name other terminals the same way.
 * - There are MAX_TERMINALS terminals, so at most MAX_TERMINALS - 1 subshells: past that,
 *   creating one fails with a clear error, and so does the first cell of a subshell that finds
 *   every terminal taken (by notebook cells).
 *
 * Each shell keeps its own execution count and history (JEP 91: "Each subshell will store its
 * own execution count and history").
 */
import { randomUUID } from 'node:crypto';
import { MAX_TERMINALS } from './cell-options.js';
import type { SubshellKey } from './dispatcher.js';

export interface ShellState {
  /** null for the main shell. */
  readonly id: SubshellKey;
  /** The lab terminal its cells run in by default; null for a subshell that ran no cell yet. */
  terminal: number | null;
  executionCount: number;
  readonly history: [number, number, string][];
  /** Whether its first cell said which terminal it is (subshells only). */
  introduced: boolean;
}

export class TerminalLimitError extends Error {}

/** At most one subshell per terminal besides the main shell's. */
export const MAX_SUBSHELLS = MAX_TERMINALS - 1;

export class Subshells {
  readonly main: ShellState = newState(null, 1);
  private readonly children = new Map<string, ShellState>();

  get(id: SubshellKey): ShellState | undefined {
    return id === null ? this.main : this.children.get(id);
  }

  /** Subshells (not the main shell), oldest first. */
  list(): ShellState[] {
    return [...this.children.values()];
  }

  /** The subshell whose terminal is `n`, if one is. */
  ownerOf(terminal: number): ShellState | undefined {
    return terminal === this.main.terminal ? this.main : this.list().find((s) => s.terminal === terminal);
  }

  /** A new subshell, with no terminal yet. Throws TerminalLimitError past MAX_SUBSHELLS. */
  create(): ShellState {
    if (this.children.size >= MAX_SUBSHELLS) {
      const numbered = this.list().filter((s) => s.terminal !== null).map((s) => s.terminal);
      throw new TerminalLimitError(
        `there are ${MAX_SUBSHELLS} subshells already, one for each of the lab's terminals 2–${MAX_TERMINALS}` +
          (numbered.length ? ` (${numbered.length} of them terminals now: ${numbered.join(', ')})` : '') +
          '; close a subshell console (or delete a subshell) first',
      );
    }
    const state = newState(randomUUID(), null);
    this.children.set(state.id!, state);
    return state;
  }

  /**
   * Give a subshell the lowest free terminal; `inUse` are the terminals whose shells run (or
   * start) now. Throws TerminalLimitError when every terminal is taken.
   */
  assignTerminal(state: ShellState, inUse: Iterable<number>): number {
    if (state.terminal !== null) return state.terminal;
    const subshells = this.list().map((s) => s.terminal).filter((n): n is number => n !== null);
    const taken = new Set<number>([1, ...inUse, ...subshells]);
    for (let n = 2; n <= MAX_TERMINALS; n++) {
      if (!taken.has(n)) return (state.terminal = n);
    }
    const others = [...taken].filter((n) => n !== 1 && !subshells.includes(n)).sort((a, b) => a - b);
    throw new TerminalLimitError(
      `all ${MAX_TERMINALS} terminals of the lab are in use (1: the main shell` +
        (subshells.length ? `; ${subshells.join(', ')}: subshells` : '') +
        (others.length ? `; ${others.join(', ')}: notebook cells with #| terminal` : '') +
        '), so this subshell has none; nothing was run. Close a subshell console (or delete a subshell) first',
    );
  }

  delete(id: string): ShellState | undefined {
    const state = this.children.get(id);
    this.children.delete(id);
    return state;
  }
}

function newState(id: SubshellKey, terminal: number | null): ShellState {
  return { id, terminal, executionCount: 0, history: [], introduced: false };
}
