/** Runs the microbenchmarks (placeholder until the hot code lands). */
export async function runMicro(): Promise<void> {}
