// GET /healthz: 200 when the configuration parses (the config middleware answers 500 otherwise).
import { newApp } from "../app";

export const health = newApp().get("/", (c) => c.json({ ok: true, environments: Object.keys(c.get("config").ENVIRONMENTS) }));
