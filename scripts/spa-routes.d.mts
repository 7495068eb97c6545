export declare function workerFirstPatterns(vars?: Record<string, string | undefined>): string[];
export declare function runsWorkerFirst(patterns: string[], path: string): boolean;
