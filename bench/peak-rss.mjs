// Imported into a measured process (`node --import ./bench/peak-rss.mjs …`): writes the process's
// peak resident set, in KiB, to file descriptor 3 as it exits. Plain JavaScript, a few lines, so
// it adds nothing measurable to what it measures.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  try {
    writeSync(3, `${process.resourceUsage().maxRSS}\n`);
  } catch {
    // fd 3 not open: run without the bench
  }
});
