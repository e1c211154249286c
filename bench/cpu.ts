// CPU time of processes, from /proc: what a benchmark's work cost each process, whatever else
// the machine was doing meanwhile (a wall-clock figure on a shared 2-core machine is not that).
import { readdirSync, readFileSync } from "node:fs";

/** User + system CPU seconds of every process `match` picks (by pid and command name). */
export function cpuSeconds(match: (pid: number, comm: string) => boolean): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!match(pid, comm)) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

/** The database a PostgreSQL backend serves, from its process title ("postgres: 15/main: user db host(port) state"). */
export function backendOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split(" ")[3];
  } catch {
    return undefined;
  }
}
