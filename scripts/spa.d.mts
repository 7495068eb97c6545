export declare const SPA_DEV_VARS: Record<string, string>;
export declare const DEV_CONFIG: string;
export declare function assetsTable(vars?: Record<string, string | undefined>, directory?: string): string;
export declare function prepareSpa(
  root: string,
  vars?: Record<string, string | undefined>,
  opts?: { configName?: string; outDir?: string },
): Promise<string>;
