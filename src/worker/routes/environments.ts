// Route group: environments (to be filled in by its issue).
import { newApp } from "../app";

export const environments = newApp();
