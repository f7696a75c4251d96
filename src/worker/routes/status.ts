// Route group: status (to be filled in by its issue).
import { newApp } from "../app";

export const status = newApp();
