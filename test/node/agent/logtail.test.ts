// The per-operation log tail stays bounded however much docker prints.
import { expect, test } from "vitest";
import { LogTail, LOG_LINE_MAX_CHARS, LOG_TAIL_MAX_LINES } from "../../../src/agent/log";

test("keeps the last LOG_TAIL_MAX_LINES lines, each at most LOG_LINE_MAX_CHARS", () => {
  const tail = new LogTail();
  tail.push(Array.from({ length: 1000 }, (_, i) => `line ${i}`).join("\n"));
  tail.push("x".repeat(10_000));
  const lines = tail.snapshot();
  expect(lines).toHaveLength(LOG_TAIL_MAX_LINES);
  expect(lines[0]).toContain("line 801");
  expect(lines.at(-1)!.length).toBe(LOG_LINE_MAX_CHARS);
  expect(lines.at(-1)!.endsWith("…")).toBe(true);
});

test("drops blank lines and stamps each line with the time", () => {
  const tail = new LogTail();
  tail.push("a\n\n\r\nb", Date.UTC(2026, 0, 1, 12, 0, 1, 5));
  expect(tail.snapshot()).toEqual(["12:00:01.005 a", "12:00:01.005 b"]);
});
