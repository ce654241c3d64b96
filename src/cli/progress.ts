/**
 * A one-line progress bar on stderr for interactive terminals (redrawn at most ten times a second); silent when
 * stderr is not a TTY, so logs and pipes get only the final summary.
 */
export interface ProgressBar {
  update(done: number, detail: string): void;
  finish(): void;
}

export function createProgressBar(
  total: number,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressBar {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let lastDraw = 0;
  let lastLine = '';
  let latest: [number, string] | null = null;
  const draw = (done: number, detail: string, force: boolean) => {
    latest = [done, detail];
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const width = 24;
    const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : width;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`;
    // A terminal that reports no width (0: a pseudo-terminal nobody sized) is taken as 120 columns.
    const columns = stream.columns || 120;
    lastLine = line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line;
    stream.write(`\r\x1b[2K${lastLine}`);
  };
  return {
    update: (done, detail) => draw(done, detail, false),
    finish: () => {
      // The last update may have come within 100 ms of the one drawn: the bar ends showing where the work ended.
      if (latest) draw(...latest, true);
      if (lastLine) stream.write('\n');
    },
  };
}

export interface ProgressBars {
  /** Sets the line of item `id` (a new id adds a line). */
  update(id: number, label: string, detail: string): void;
  finish(): void;
}

/**
 * One line per item (a download per file), redrawn in place at most ten times a second on an interactive
 * terminal; silent otherwise, like `createProgressBar`.
 */
export function createProgressBars(stream: NodeJS.WriteStream = process.stderr): ProgressBars {
  if (!stream.isTTY) return { update() {}, finish() {} };
  const lines = new Map<number, string>();
  let drawn = 0;
  let lastDraw = 0;
  const draw = () => {
    const columns = stream.columns || 120;
    const text = [...lines.values()].map((line) =>
      line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line,
    );
    // Back to the first line drawn, then every line again.
    stream.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${text.map((line) => `\x1b[2K${line}\n`).join('')}`);
    drawn = text.length;
  };
  return {
    update(id, label, detail) {
      lines.set(id, `${label}: ${detail}`);
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      draw();
    },
    finish() {
      if (lines.size > 0) draw();
    },
  };
}
