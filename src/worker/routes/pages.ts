// Route group: pages (to be filled in by its issue).
import { newApp } from "../app";

export const pages = newApp();
