// openapi-typescript behind one function, resolved from this folder so it loads the TypeScript 5
// it was built for (installed beside it) and not the project's TypeScript 7.
import openapiTS, { astToString } from "openapi-typescript";

/** The TypeScript declarations (`paths`, `components`) of an OpenAPI document object. */
export async function generateTypes(document) {
  return astToString(await openapiTS(document));
}
