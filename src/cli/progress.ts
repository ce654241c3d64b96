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
  const draw = (done: number, detail: string, force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const width = 24;
    const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : width;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`;
    const columns = stream.columns ?? 120;
    lastLine = line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line;
    stream.write(`\r\x1b[2K${lastLine}`);
  };
  return {
    update: (done, detail) => draw(done, detail, false),
    finish: () => {
      if (lastLine) stream.write('\n');
    },
  };
}
