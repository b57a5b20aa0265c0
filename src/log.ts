/**
 * Logging to stderr (Jupyter shows a kernel's stderr in the server log). Quiet by default:
 * warnings and errors only. `NSLAB_LOG=debug` (or `info`) makes it verbose.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

function levelFromEnv(): number {
  const v = (process.env.NSLAB_LOG ?? '').toLowerCase();
  if (v === '1' || v === 'true' || v === 'verbose') return LEVELS.debug;
  return v in LEVELS ? LEVELS[v as LogLevel] : LEVELS.warn;
}
let threshold = levelFromEnv();

export interface Logger {
  debug(msg: string, ...rest: unknown[]): void;
  info(msg: string, ...rest: unknown[]): void;
  warn(msg: string, ...rest: unknown[]): void;
  error(msg: string, ...rest: unknown[]): void;
}

export function setLogLevel(level: LogLevel): void { threshold = LEVELS[level]; }

export function logger(scope: string): Logger {
  const emit = (level: LogLevel, msg: string, rest: unknown[]) => {
    if (LEVELS[level] < threshold) return;
    const extra = rest.length ? ' ' + rest.map((r) => (r instanceof Error ? r.stack ?? r.message : typeof r === 'string' ? r : JSON.stringify(r))).join(' ') : '';
    process.stderr.write(`[nslab ${level.toUpperCase()} ${new Date().toISOString()} ${scope}] ${msg}${extra}\n`);
  };
  return {
    debug: (m, ...r) => emit('debug', m, r),
    info: (m, ...r) => emit('info', m, r),
    warn: (m, ...r) => emit('warn', m, r),
    error: (m, ...r) => emit('error', m, r),
  };
}
