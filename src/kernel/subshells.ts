/**
 * The kernel's shells in the sense of JEP 91 (kernel subshells, protocol 5.5): the main shell
 * and the subshells a frontend made with `create_subshell_request`. For nslab a subshell is a
 * terminal of the lab: its own persistent bash joined to the same lab, with a number like the
 * terminals that notebook cells pick with `#| terminal: N`.
 *
 * - The main shell is terminal 1 (a notebook's cells run there unless they say otherwise).
 * - A new subshell takes the lowest terminal number that nothing uses: no subshell has it and no
 *   shell runs in it (a notebook's `#| terminal: 2` keeps 2 for itself). A cell with
 *   `#| terminal: N` then reaches the subshell's terminal, and a subshell's cells may name
 *   other terminals the same way.
 * - There are MAX_TERMINALS terminals; past that, creating one fails with a clear error.
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
  /** The lab terminal its cells run in by default. */
  readonly terminal: number;
  executionCount: number;
  readonly history: [number, number, string][];
  /** Whether its first cell said which terminal it is (subshells only). */
  introduced: boolean;
}

export class TerminalLimitError extends Error {}

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

  /**
   * A new subshell on the lowest free terminal; `inUse` are the terminals whose shells run
   * (or start) now. Throws TerminalLimitError when every terminal is taken.
   */
  create(inUse: Iterable<number>): ShellState {
    const taken = new Set<number>([this.main.terminal, ...inUse, ...this.list().map((s) => s.terminal)]);
    for (let n = 1; n <= MAX_TERMINALS; n++) {
      if (taken.has(n)) continue;
      const state = newState(randomUUID(), n);
      this.children.set(state.id!, state);
      return state;
    }
    const subshells = this.list().map((s) => s.terminal);
    const others = [...taken].filter((n) => n !== this.main.terminal && !subshells.includes(n)).sort((a, b) => a - b);
    throw new TerminalLimitError(
      `all ${MAX_TERMINALS} terminals of the lab are in use (1: the main shell` +
        (subshells.length ? `; ${subshells.join(', ')}: subshells` : '') +
        (others.length ? `; ${others.join(', ')}: notebook cells with #| terminal` : '') +
        '); close a subshell console (or delete a subshell) first',
    );
  }

  delete(id: string): ShellState | undefined {
    const state = this.children.get(id);
    this.children.delete(id);
    return state;
  }
}

function newState(id: SubshellKey, terminal: number): ShellState {
  return { id, terminal, executionCount: 0, history: [], introduced: false };
}
