// For humans: `tsx lab/cli.ts up [sha] | down | status`. `up` also deploys the stack directly
// (good1 unless a SHA is given) so http://127.0.0.1:18080/health answers.
import { LAB_HEALTH_URL, LAB_SHAS, deployDirect, labDown, labStatus, labUp, waitFor } from "./lab";

const [cmd, arg] = process.argv.slice(2);
if (cmd === "up") {
  const t0 = Date.now();
  const h = await labUp();
  const sha = arg ?? LAB_SHAS.good1;
  deployDirect(sha);
  await waitFor(`${LAB_HEALTH_URL} to answer 200`, async () => (await fetch(LAB_HEALTH_URL).catch(() => null))?.status === 200, 60_000, 500);
  console.log(JSON.stringify({ ...h, sha, health: LAB_HEALTH_URL, wall_ms: Date.now() - t0 }));
} else if (cmd === "down") {
  console.log(JSON.stringify(await labDown()));
} else if (cmd === "status") {
  console.log(JSON.stringify(labStatus(), null, 2));
} else {
  console.error("usage: tsx lab/cli.ts up [sha] | down | status");
  process.exit(2);
}
