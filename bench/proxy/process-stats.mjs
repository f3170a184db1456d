// CPU time and peak memory of a child process, read from /proc (Linux only).
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ; getconf CLK_TCK is 100 on every mainstream Linux

/** utime + stime of `pid` in microseconds, or NaN when /proc is not available. */
export function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size (VmHWM) of `pid` in MB, or NaN. */
export function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
