/**
 * The shell's answers (prompt, continuation, an untracked program, the exit) on their way from
 * the command tracker, which emits them as bytes arrive, to the cell that waits for them. An
 * answer nobody waits for yet is kept in order (a command left running by `wait: false` that
 * finished between cells).
 */
export class AnswerQueue<T> {
  private readonly kept: T[] = [];
  private waiter: ((answer: T) => void) | null = null;
  private pushed = 0;

  /** Answers so far: a timer compares it to tell whether the shell answered since it started. */
  get count(): number { return this.pushed; }
  /** Whether an answer waits to be taken. */
  get pending(): boolean { return this.kept.length > 0; }

  push(answer: T): void {
    this.pushed++;
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter(answer);
    else this.kept.push(answer);
  }

  /** The next answer, or null after `timeoutMs` without one. One taker at a time. */
  next(timeoutMs?: number): Promise<T | null> {
    if (this.kept.length) {
      const [first] = this.kept.splice(0, 1);
      return Promise.resolve(first);
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.waiter = (answer) => {
        if (timer) clearTimeout(timer);
        resolve(answer);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiter = null;
          resolve(null);
        }, timeoutMs);
      }
    });
  }
}
