// Which images a compose file names for a SHA: the pre-flight check's input.
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { composeImages, interpolate } from "../../../src/agent/compose";

const SHA = "a".repeat(40);

describe("composeImages", () => {
  test("resolves the lab's compose file for a SHA", () => {
    const text = readFileSync(new URL("../../../lab/compose.yml", import.meta.url), "utf8");
    expect(composeImages(text, { GIT_COMMIT: SHA })).toEqual({
      ok: true,
      images: [
        { service: "proxy", image: "lab/proxy:local" },
        { service: "app", image: `lab/app:${SHA}` },
      ],
    });
  });

  test("reads quoted images, comments, other indents and nested keys that are not the image", () => {
    const text = [
      "version: '3.8'",
      "x-common: &c",
      "  image: ignored",
      "services:",
      "    # the API",
      "    api:",
      "        deploy:",
      "            labels:",
      "                image: not-this-one",
      '        image: "ghcr.io/yapit-tts/api:${GIT_COMMIT}"   # pinned by CI',
      "    web:",
      "        image: 'ghcr.io/yapit-tts/web:${GIT_COMMIT:-latest}'",
      "    worker:",
      "        image: ghcr.io/yapit-tts/worker:$GIT_COMMIT # bare",
      "networks:",
      "  default: {}",
    ].join("\n");
    const r = composeImages(text, { GIT_COMMIT: SHA });
    expect(r).toEqual({
      ok: true,
      images: [
        { service: "api", image: `ghcr.io/yapit-tts/api:${SHA}` },
        { service: "web", image: `ghcr.io/yapit-tts/web:${SHA}` },
        { service: "worker", image: `ghcr.io/yapit-tts/worker:${SHA}` },
      ],
    });
  });

  test.each([
    ["services: {api: {image: x}}", /no top-level `services:`/],
    ["services:\n  api:\n    build: .\n", /service api has no plain `image:`/],
    ["services:\n  api:\n    <<: *common\n", /merge key/],
    ["services:\n  api:\n    image: *img\n", /cannot read image/],
    ["services:\n  api:\n    image: x:${GIT_COMMIT:?set by the agent}\n", null],
    ["services:\n  api:\n    image: x:${NOPE:?must be set}\n", /NOPE is required: must be set/],
  ])("fails closed on what it cannot read with certainty: %j", (text, error) => {
    const r = composeImages(text, { GIT_COMMIT: SHA });
    if (error === null) expect(r.ok).toBe(true);
    else expect(r).toMatchObject({ ok: false, error: expect.stringMatching(error) });
  });
});

describe("interpolate", () => {
  test.each([
    ["${A}", { A: "1" }, "1"],
    ["$A-x", { A: "1" }, "1-x"],
    ["$$A", { A: "1" }, "$A"],
    ["${A:-d}", { A: "" }, "d"],
    ["${A-d}", { A: "" }, ""],
    ["${A-d}", {}, "d"],
    ["${A}", {}, ""],
  ])("%s with %j → %s", (text, env, out) => expect(interpolate(text, env)).toBe(out));
});
