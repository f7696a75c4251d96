// Route group: webhook (to be filled in by its issue).
import { newApp } from "../app";

export const webhook = newApp();
