// Route group: deploys (to be filled in by its issue).
import { newApp } from "../app";

export const deploys = newApp();
