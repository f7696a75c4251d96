export declare function generateTypes(document: object): Promise<string>;
