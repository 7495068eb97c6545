export declare const DEFAULT_DEV_PORT: number;
export declare function developmentVars(publicUrl: string): Record<string, string>;
