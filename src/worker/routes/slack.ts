// Route group: slack (to be filled in by its issue).
import { newApp } from "../app";

export const slack = newApp();
