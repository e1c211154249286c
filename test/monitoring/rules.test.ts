// The alerting rules pass promtool's checks and unit tests, and every alert is unit-tested both
// ways (series that fire it, series that must not).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readYaml, type Obj } from "../chart/lib.js";
import { rules, RULES_FILE } from "./lib.js";

const TESTS_FILE = join(import.meta.dirname, "rules-tests.yaml");

const promtool = (...args: string[]) => spawnSync("promtool", args, { encoding: "utf8", cwd: import.meta.dirname });

describe("Prometheus rules (charts/sker/files/prometheus/rules.yaml)", () => {
  it("pass promtool check rules", () => {
    const r = promtool("check", "rules", RULES_FILE);
    expect(r.error, "promtool missing: bash scripts/tools.sh").toBeUndefined();
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("pass their promtool unit tests", () => {
    const r = promtool("test", "rules", TESTS_FILE);
    expect(r.error, "promtool missing: bash scripts/tools.sh").toBeUndefined();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
  });

  it("have, for every alert, a unit test where it fires and one where it stays quiet", () => {
    const cases = (readYaml(TESTS_FILE).tests as Obj[]).flatMap((t) => t.alert_rule_test as Obj[]);
    for (const { alert } of rules()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts?.length > 0), `${alert} fires in some test`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} stays quiet in some test`).toBe(true);
    }
  });

  it("a unit test fails when a rule's threshold changes (the tests can fail)", () => {
    // promtool reads the rule file the tests name: feed it a copy with one threshold loosened.
    const r = spawnSync("sh", ["-c", `d=$(mktemp -d) && sed 's/> 0.05/> 0.5/' "${RULES_FILE}" > "$d/rules.yaml" && sed "s#../../charts/sker/files/prometheus/rules.yaml#$d/rules.yaml#" "${TESTS_FILE}" > "$d/tests.yaml" && promtool test rules "$d/tests.yaml"; s=$?; rm -rf "$d"; exit $s`], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("SkerHttpErrorRate");
  });
});
