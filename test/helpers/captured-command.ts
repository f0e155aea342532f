import { vi } from "vitest";

/**
 * Runs a CLI command function in-process with stdout and stderr captured, as the
 * command-level tests need: its exit code and everything it wrote.
 */
export async function runCaptured(
  command: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await command(args);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}
